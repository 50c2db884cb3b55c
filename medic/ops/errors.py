"""One error type per failure kind. The API maps each to an HTTP status once (api/errors.py);
Slack, MCP and the CLI render the same message their own way."""


class MedicError(Exception):
    """`audited_refusal`: an operation that fails with this error records the attempt in
    the audit log as refused (who tried, through which door, why)."""

    status_code = 500
    kind = "error"
    audited_refusal = False

    def __init__(self, message: str, *, audited_refusal: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        if audited_refusal is not None:
            self.audited_refusal = audited_refusal


class InvalidInput(MedicError):
    status_code = 400
    kind = "invalid_input"


class NotFound(MedicError):
    status_code = 404
    kind = "not_found"


class Conflict(MedicError):
    status_code = 409
    kind = "conflict"


class Unauthorized(MedicError):
    status_code = 401
    kind = "unauthorized"

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class Forbidden(MedicError):
    status_code = 403
    kind = "forbidden"
    audited_refusal = True


class PayloadTooLarge(MedicError):
    status_code = 413
    kind = "payload_too_large"


class RateLimited(MedicError):
    status_code = 429
    kind = "rate_limited"

    def __init__(self, message: str, headers: dict[str, str]) -> None:
        super().__init__(message)
        self.headers = headers


class Unavailable(MedicError):
    """A dependency (database, broker) failed; the client may retry."""

    status_code = 503
    kind = "unavailable"
