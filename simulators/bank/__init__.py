"""A bank's ISO 20022 channel: pain.001.001.09 in, pain.002.001.10 out, exactly-once execution."""

from simulators.bank.app import create_app

__all__ = ["create_app"]
