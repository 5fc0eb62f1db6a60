"""Deterministic ERP data (Kingdee K/3 Cloud, YonBIP) and a pusher that posts it to the hub."""
