"""The API's one root exception: an HTTP status and a description that names the field.

Every refusal is rendered as a GeoReport error list, ``[{"code": 400, "description": ...}]``
(``<errors><error>...`` in XML), so a client handles all of them one way."""
from __future__ import annotations

from events.errors import ValidationError, describe


class ApiError(Exception):
    """A request the API refuses: ``status`` is the HTTP status, ``description`` says why."""

    def __init__(self, status: int, description: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.status, self.description = status, description
        self.headers = headers or {}


def bad(field: str, expected: str, got: object = None) -> ApiError:
    """400 naming the field, in the SDK's words: ``field: expected ..., got ...``."""
    tail = "" if got is None else f", got {describe(got)}"
    return ApiError(400, f"{field}: expected {expected}{tail}")


def from_validation(exc: ValidationError, fields: dict[str, str] | None = None) -> ApiError:
    """The SDK's message, with the event's field renamed to the request's (``data.text`` ->
    ``description``) where the request calls it something else."""
    message = str(exc)
    name = (fields or {}).get(exc.field)
    if name is not None and message.startswith(exc.field + ":"):
        message = name + message[len(exc.field):]
    return ApiError(400, message)


def not_found(what: str) -> ApiError:
    return ApiError(404, what)


def forbidden(what: str) -> ApiError:
    return ApiError(403, what)
