"""Domain errors. The web layer maps each to one problem+json status (registry/errors.py)."""


class DomainError(Exception):
    status = 400
    title = "Bad Request"

    def __init__(self, detail: str, *, errors: list[dict] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class InvalidInput(DomainError):
    status = 400
    title = "Bad Request"


class RuleViolation(DomainError):
    """A request the spec's schema accepts that breaks a registry rule the schema cannot state
    (an identifier of another institution, a field that must not change, records that
    disagree with each other). 400 stays for what the schema itself refuses."""

    status = 422
    title = "Unprocessable Content"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class NotFound(DomainError):
    status = 404
    title = "Not Found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


def body_error(name: str, message: str) -> dict:
    """One entry of a problem's `errors`, for a field of the request body."""
    return {"name": name, "in": "body", "message": message}
