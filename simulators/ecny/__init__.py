"""An e-CNY (数字人民币) operator: payment orders, final-state notifies and queries, SM2-signed."""

from simulators.ecny.app import create_app

__all__ = ["create_app"]
