"""Medic: a self-hosted heartbeat monitor and dead man's switch."""

__version__ = "2.0.0.dev0"
