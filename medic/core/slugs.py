"""Slugs: the part of a slug ping URL (`/ping/<ping key>/<slug>`) that names a service
within its team. Lower-case letters, digits, `-` and `_` only, so a slug can never be a
path trick (`..`, `%2F`, a second segment) or look like a ping route (`start`, `fail`)."""

import re

MAX_SLUG_LENGTH = 100
SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,99}")
# `/ping/<key>/<slug>/start` and `/ping/<uuid>/start` share their shape; a slug that is a
# route word or a number would be read as one, so these are refused.
RESERVED = frozenset({"start", "fail", "log"})


def is_slug(value: str) -> bool:
    return bool(SLUG.fullmatch(value)) and value not in RESERVED and not value.isdigit()


def check_slug(value: str, field: str = "slug") -> str:
    """The slug itself, or ValueError naming the field and the rule."""
    if not is_slug(value):
        raise ValueError(
            f"{field} must be 1 to {MAX_SLUG_LENGTH} lower-case letters, digits, '-' or '_', "
            "start with a letter or digit, and not be a number, 'start', 'fail' or 'log'"
        )
    return value


def slugify(name: str) -> str | None:
    """The slug a heartbeat name gets by default (`Nightly Backup` → `nightly-backup`),
    or None when nothing usable is left."""
    slug = re.sub(r"[^a-z0-9_-]+", "-", name.strip().casefold()).strip("-_")[:MAX_SLUG_LENGTH]
    slug = slug.rstrip("-_")
    try:
        return check_slug(slug)
    except ValueError:
        return None
