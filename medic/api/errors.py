"""Map every failure to an HTTP answer, once. Never a bare 500 page, never a stack trace."""

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from medic.metrics import AUTH_FAILURES
from medic.ops.errors import MedicError, RateLimited, Unauthorized
from medic.ops.validation import describe_validation_error
from medic.web.envelope import failure

log = logging.getLogger(__name__)


def refusal_headers(exc: MedicError) -> dict[str, str] | None:
    """The headers a refusal carries (Retry-After, WWW-Authenticate), whatever shape its
    body takes; a refused key is counted here, once."""
    if isinstance(exc, Unauthorized):
        AUTH_FAILURES.labels(exc.reason).inc()
        return {"WWW-Authenticate": "Bearer"}
    return exc.headers if isinstance(exc, RateLimited) else None


def install(app: FastAPI) -> None:
    @app.exception_handler(MedicError)
    async def medic_error(_request: Request, exc: MedicError) -> JSONResponse:
        return failure(exc.message, exc.status_code, refusal_headers(exc))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return failure(describe_validation_error(list(exc.errors())), 400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        return failure(message, exc.status_code, getattr(exc, "headers", None))

    @app.exception_handler(DataError)
    async def data_error(_request: Request, exc: DataError) -> JSONResponse:
        # The database refused a value the request supplied (e.g. NUL in text on PostgreSQL);
        # the session rolled back, so nothing was written.
        log.info("database refused a request value: %s", exc.orig)
        return failure("a value in the request cannot be stored or searched for", 400)

    @app.exception_handler(OperationalError)
    async def database_unavailable(_request: Request, exc: OperationalError) -> JSONResponse:
        # The database cannot be reached (restarting, failing over, out of connections):
        # nothing was acknowledged, and the same request may well succeed shortly.
        log.warning("database unavailable: %s", exc.orig)
        return failure("the database is unavailable; retry", 503, {"Retry-After": "1"})

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return failure("internal error; the request was not applied", 500)
