"""Helpers the test suite shares: broker processes and session fixtures (see `fixtures`)."""
