"""`python -m hub` is `factorhub`."""

from hub.cli import app

app()
