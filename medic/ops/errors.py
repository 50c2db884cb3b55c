"""One error type per failure kind. The API maps each to an HTTP status once (api/errors.py);
Slack, MCP and the CLI render the same message their own way."""


class MedicError(Exception):
    status_code = 500
    kind = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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
