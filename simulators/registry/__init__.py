"""A 中登网-style registry of 保理 registrations; the real one has no API, this JSON API is ours."""

from simulators.registry.app import create_app

__all__ = ["create_app"]
