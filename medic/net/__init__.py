"""Outgoing network requests a user can aim: the SSRF guard and the TLS trust Medic uses."""
