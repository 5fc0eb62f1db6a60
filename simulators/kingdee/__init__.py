"""Kingdee K/3 Cloud WebAPI: session and signed-header logins, Save / View / ExecuteBillQuery."""

from simulators.kingdee.app import create_app

__all__ = ["create_app"]
