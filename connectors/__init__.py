"""I/O with external systems: one client per system over an injected httpx.AsyncClient."""
