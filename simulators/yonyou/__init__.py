"""A YonBIP / YonSuite OpenAPI tenant: signed token, sales invoices, event push."""

from simulators.yonyou.app import create_app

__all__ = ["create_app"]
