"""A customs Single Window: export declarations (DecMessage) queried by EntryId."""

from simulators.customs.app import create_app

__all__ = ["create_app"]
