"""The HTTP front door (FastAPI): v1, v2, ping URLs, health and metrics."""
