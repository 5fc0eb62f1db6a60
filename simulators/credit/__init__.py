"""A credit bureau: PBOC enterprise report, 企查查 and 天眼查 company data with risk items."""

from simulators.credit.app import create_app

__all__ = ["create_app"]
