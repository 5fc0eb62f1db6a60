"""Loopback simulators of what FactorHub talks to: ERPs, the 中登网 registry, a bank's ISO channel.

They speak the external formats with their own code and never import the hub's packages.
"""
