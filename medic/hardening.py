"""Keeping Medic's own secrets to itself, once a process has read its settings.

* `drop_secret_environment`: the settings that are secrets (the secrets key, Slack and
  PagerDuty tokens, signing secrets, passwords and URLs that may carry one) are removed
  from `os.environ` once `Settings` hold them, so nothing started later inherits them
  and nothing that prints the environment shows them.
* `make_non_dumpable`: `prctl(PR_SET_DUMPABLE, 0)` on Linux. A process of the same
  user can then neither attach to Medic nor read its memory, `/proc/<pid>/environ`
  (which still shows the environment Medic was started with) or `/proc/<pid>/mem`;
  no core dump is written. Execing a program (a script) makes that program dumpable
  again, as usual, but never Medic.
* `quiet_http_loggers`: httpx and httpcore (and their httpx2 twins) log every request's
  full URL at INFO, and a URL may carry a secret; they log at WARNING and above only,
  whatever `LOG_LEVEL` says.

`harden_process` does the first two; every Medic command calls it right after loading
its settings (medic.cli.settings), and so does the app factory for uvicorn's worker
processes (medic.app). `medic api --workers N` is the exception: its supervisor keeps
the environment, because uvicorn starts (and restarts) each worker as a fresh
interpreter that reads the settings from it; the supervisor is made non-dumpable, and
each worker drops the secrets from its own environment once it has read them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys
from collections.abc import MutableMapping

log = logging.getLogger(__name__)

# Environment variables whose value is a secret, or may carry one (a password in a
# database or Redis URL); what Medic reads from them lives in its Settings.
SECRET_ENVIRONMENT = (
    "MEDIC_SECRETS_KEY",
    "MEDIC_WEBHOOK_SECRET",
    "MEDIC_PLAYBOOK_HOOK_SECRET",
    "MEDIC_API_KEY",
    "SLACK_SIGNING_SECRET",
    "SLACK_BOT_TOKEN",
    "SLACK_API_TOKEN",
    "SLACK_APP_TOKEN",
    "PAGERDUTY_ROUTING_KEY",
    "PAGERDUTY_API_KEY",
    "PAGERDUTY_TOKEN",
    "SMTP_PASSWORD",
    "PG_PASS",
    "DATABASE_URL",
    "REDIS_URL",
)
QUIET_LOGGERS = ("httpx", "httpcore", "httpx2", "httpcore2")
PR_SET_DUMPABLE = 4
PR_GET_DUMPABLE = 3


def drop_secret_environment(environ: MutableMapping[str, str] | None = None) -> list[str]:
    """Remove the secret variables from `environ` (the process environment by default),
    whatever their case; returns the names removed."""
    environ = os.environ if environ is None else environ
    secret = {name.upper() for name in SECRET_ENVIRONMENT}
    dropped = [name for name in list(environ) if name.upper() in secret]
    for name in dropped:
        environ.pop(name, None)
    return dropped


def make_non_dumpable() -> bool:
    """Make this process non-dumpable (Linux); returns whether it now is."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
        return bool(libc.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0)
    except (OSError, AttributeError) as exc:
        log.warning("could not make the process non-dumpable: %s", exc)
        return False


def harden_process(*, keep_environment: bool = False) -> None:
    """Non-dumpable, and (unless `keep_environment`) no secrets in the environment.
    Call it once the settings are loaded, before any thread or child is started."""
    make_non_dumpable()
    if not keep_environment:
        drop_secret_environment()


def quiet_http_loggers() -> None:
    """HTTP client libraries log at WARNING and above only (their INFO lines carry
    full URLs)."""
    for name in QUIET_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)


def uvicorn_log_config(log_config: dict[str, object]) -> dict[str, object]:
    """uvicorn's logging configuration (applied in every worker process it starts) with
    the HTTP client loggers at WARNING."""
    loggers = dict(log_config.get("loggers", {}))  # type: ignore[call-overload]
    for name in QUIET_LOGGERS:
        loggers[name] = {"level": "WARNING"}
    return {**log_config, "loggers": loggers}
