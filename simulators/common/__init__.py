"""Plumbing shared by the HTTP simulators (never by the hub)."""
