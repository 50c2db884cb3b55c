"""`medic mcp`: MCP over stdio, for an assistant that starts Medic as a subprocess.

With MEDIC_URL set it relays to that Medic's /mcp endpoint (medic.mcp_server.proxy),
so the assistant needs no database access; without it, it serves from the database
in the settings (DATABASE_URL or the SQLite default). Either way it acts as the key in
MEDIC_API_KEY, with exactly that key's rights. stdout carries the protocol, so every
diagnostic goes to stderr.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping

import anyio
from sqlalchemy.exc import SQLAlchemyError

from medic.config import Settings
from medic.db import Database
from medic.mcp_server.backend import FRONT_DOOR, Backend
from medic.mcp_server.errors import StartupError
from medic.mcp_server.server import build_server
from medic.ops.actor import Actor
from medic.ops.errors import Unauthorized
from medic.ops.keys import VerifiedKeyCache, authenticate


def serve(environ: Mapping[str, str], load_settings: Callable[[], Settings]) -> None:
    key = environ.get("MEDIC_API_KEY", "").strip()
    if not key:
        raise StartupError("set MEDIC_API_KEY to the API key the assistant acts as")
    url = environ.get("MEDIC_URL", "").strip()
    if url:
        from medic.mcp_server.proxy import serve_remote

        logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
        anyio.run(serve_remote, url, key)
    else:
        serve_local(load_settings(), key)


def serve_local(settings: Settings, key: str) -> None:
    db = Database(settings)
    cache = VerifiedKeyCache(settings.medic_key_cache_seconds)

    def caller() -> Actor:
        # Verified again on every call (cached briefly): revoking the key takes effect.
        return authenticate(db, cache, key).actor(FRONT_DOOR)

    try:
        try:
            caller()
        except Unauthorized as exc:
            raise StartupError(f"MEDIC_API_KEY: {exc.message}") from None
        except SQLAlchemyError as exc:
            raise StartupError(
                f"cannot read Medic's database ({type(exc).__name__}); "
                "check DATABASE_URL and run `medic migrate`"
            ) from None
        build_server(Backend(db, settings, caller)).run("stdio")
    finally:
        db.dispose()
