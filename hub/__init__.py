"""Wiring: configuration, transports, persistence, the message runtime, the CLI and the app."""
