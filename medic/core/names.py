"""Rules for heartbeat names: what a client may register and how names match."""

import unicodedata

MAX_NAME_LENGTH = 255


def clean_name(value: str, field: str = "heartbeat_name") -> str:
    """Strip, and refuse empty, over-long or control-character names (they end up in URLs)."""
    name = value.strip()
    if not name:
        raise ValueError(f"{field} must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"{field} must be at most {MAX_NAME_LENGTH} characters")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise ValueError(f"{field} must not contain control characters")
    if "/" in name:
        raise ValueError(f"{field} must not contain '/'")
    return name


def name_key(name: str) -> str:
    """Names match case-insensitively (v1 behaviour); this is the form they are compared in."""
    return name.strip().casefold()


def environment_name(heartbeat_name: str, environment: str | None) -> str:
    """v1: a non-empty `environment` registers the name as `<environment>-<heartbeat_name>`."""
    if environment and environment.strip():
        return f"{environment.strip()}-{heartbeat_name}"
    return heartbeat_name
