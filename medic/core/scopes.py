"""API key scopes. They nest: admin can do what write can, write what read can."""

SCOPES = ("read", "write", "admin")


def grants(held: list[str] | tuple[str, ...] | frozenset[str], required: str) -> bool:
    rank = SCOPES.index(required)
    return any(scope in SCOPES and SCOPES.index(scope) >= rank for scope in held)


def validate_scopes(scopes: list[str]) -> list[str]:
    if not scopes:
        raise ValueError("at least one scope is required (read, write or admin)")
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise ValueError(f"unknown scope {unknown[0]!r}; scopes are read, write and admin")
    return sorted(set(scopes), key=SCOPES.index)
