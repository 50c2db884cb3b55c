"""Validation messages every door shows the same way: one readable line naming the field."""

from typing import Any

from pydantic import BaseModel, ValidationError

from medic.ops.errors import InvalidInput


def describe_validation_error(errors: list[Any]) -> str:
    """One readable line naming the field: what a client needs to fix its request."""
    error = errors[0]
    loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
    field = ".".join(loc)
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        return f"unknown field {field!r}"
    if kind == "missing":
        return f"{field} is required" if field else "the request body must be a JSON object"
    if kind in ("json_invalid", "json_type") or (not field and kind == "model_attributes_type"):
        return "the request body must be a JSON object"
    if kind == "model_attributes_type" or kind == "dict_type":
        return f"{field or 'body'} must be a JSON object"
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    return f"{field}: {message}" if field else message


def validated(model: type[BaseModel], data: dict[str, Any]) -> Any:
    """Validate data for an ops-layer model, failing as InvalidInput with a readable message."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(describe_validation_error(list(exc.errors()))) from None
