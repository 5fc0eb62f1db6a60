"""Broker transport tests: one shared contract (tests.support.transport_contract) per broker."""
