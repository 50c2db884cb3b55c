"""Medic's errors as MCP errors, in one place.

Tools fail as tool errors (`is_error=True` with a message the model can act on);
resources and prompts, which have no such result, fail as JSON-RPC errors. Anything
unexpected is left to the SDK, which logs it and answers with a generic error: the
server never crashes and never leaks a stack trace.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from mcp import MCPError
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST
from pydantic import ValidationError
from sqlalchemy.exc import DataError

from medic.ops.errors import InvalidInput, MedicError, NotFound, Unavailable
from medic.ops.validation import describe_validation_error

P = ParamSpec("P")
R = TypeVar("R")


def as_medic_error(exc: Exception) -> MedicError | None:
    """The MedicError an exception stands for, or None when it is unexpected."""
    if isinstance(exc, MedicError):
        return exc
    if isinstance(exc, ValidationError):
        return InvalidInput(describe_validation_error(list(exc.errors())))
    if isinstance(exc, DataError):
        # The database refused a value the caller supplied (e.g. NUL on PostgreSQL).
        return InvalidInput("a value in the request cannot be stored or searched for")
    return None


def message(error: MedicError) -> str:
    """`kind: message`, e.g. `forbidden: this action needs the 'write' scope; ...`."""
    return f"{error.kind}: {error.message}"


def _translated(fn: Callable[P, R], to: Callable[[MedicError], Exception]) -> Callable[P, R]:
    """`fn`, with Medic's errors raised as `to(error)`; keeps the signature (schema)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            error = as_medic_error(exc)
            if error is None:
                raise
            raise to(error) from None

    return wrapper


def tool_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Wrap a tool so Medic's errors become tool errors the model can read and retry."""
    return _translated(fn, lambda error: ToolError(message(error)))


def protocol_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Wrap a resource or prompt so Medic's errors become JSON-RPC errors."""
    return _translated(fn, lambda error: MCPError(code=_code(error), message=message(error)))


def _code(error: MedicError) -> int:
    """The SDK answers an unknown resource with INVALID_PARAMS; so does Medic."""
    if isinstance(error, InvalidInput | NotFound):
        return INVALID_PARAMS
    if isinstance(error, Unavailable):
        return INTERNAL_ERROR
    return INVALID_REQUEST


class StartupError(Exception):
    """`medic mcp` cannot serve; the message says what to fix."""
