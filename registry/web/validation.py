"""Validation from the spec, naming every offending parameter or body field.

- Parameters: each validated against its schema, verdicts of short values remembered; formats
  (date-time, uuid, email) checked as the reference server reads them in filters.
- Bodies: parsed once (left in the scope for handlers, PARSED_BODY), validated against the
  schema, every error named by its field; a schema-valid body whose text holds U+0000 answers
  422 naming each such field.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import json
import re
import uuid

import jsonschema
import orjson
from connexion.exceptions import ProblemException
from connexion.json_schema import Draft4RequestValidator
from connexion.lifecycle import ConnexionRequest
from connexion.validators.parameter import ParameterValidator
from jsonschema import Draft4Validator, FormatChecker
from starlette.datastructures import Headers

from models.errors import clipped, quoted
from models.lru import LRU
from registry.web.body_check import compile_schema
from registry.web.connexion_seam import JSONBodyValidator

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})$")
# A date-time in a query parameter (a list filter) may also be written as the reference server
# reads it (PostgreSQL's input syntax), which its clients rely on: openapi-generator's Python
# client sends `2024-05-01T00:00:00.000000+0000` (an offset without its colon), or no offset at
# all for a naive datetime; scripts send a bare date. No offset means UTC, a bare date its
# midnight (models.storage.query.parse_datetime reads all of these). Bodies stay strict RFC 3339.
_FILTER_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}(:?\d{2})?)?)?$"
)

# The longest message of a parameter or field's error: jsonschema's name the allowed values
# (`is not one of [...]`), which for `sort` run to ~1,500 characters.
MESSAGE_MAX = 2000
# The most errors one problem lists (one per offending parameter or field).
MAX_ERRORS = 100

# Bodies are checked with `format_checker`, parameters with `parameter_format_checker`.
format_checker = FormatChecker(formats=())
parameter_format_checker = FormatChecker(formats=())

# Where the body validator leaves the body it parsed (an ASGI scope key), so that a handler
# of a large body (a 10,000-file batch) need not parse it a second time: handlers.common.
PARSED_BODY = "registry.parsed_body"


def _is_utf8(encoding: str) -> bool:
    return encoding.lower().replace("_", "-") in ("utf-8", "utf8")


def loads_body(raw: bytes, encoding: str):
    """orjson when the body is UTF-8 (several times faster than json); what orjson refuses,
    the standard library decides, as before (it reads integers beyond 64 bits, which
    validation then names as out of range, and raises the usual errors)."""
    if _is_utf8(encoding):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return json.loads(raw.decode(encoding))


@format_checker.checks("date-time", raises=ValueError)
def _is_datetime(value) -> bool:
    if not isinstance(value, str):
        return True
    if not _RFC3339.match(value):
        raise ValueError("must be an RFC 3339 date-time such as 2024-05-01T00:00:00Z")
    dt.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    return True


@parameter_format_checker.checks("date-time", raises=ValueError)
def _is_filter_datetime(value) -> bool:
    if not isinstance(value, str):
        return True
    if not _FILTER_DATETIME.match(value):
        raise ValueError("must be a date-time such as 2024-05-01T00:00:00Z (or a date)")
    dt.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    return True


@parameter_format_checker.checks("uuid", raises=ValueError)
@format_checker.checks("uuid", raises=ValueError)
def _is_uuid(value) -> bool:
    if isinstance(value, str):
        if len(value) != 36:
            raise ValueError("must be a UUID such as 3f2c8a52-8d6e-4c1e-9b3a-2f4d5e6a7b8c")
        uuid.UUID(value)
    return True


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@parameter_format_checker.checks("email", raises=ValueError)
@format_checker.checks("email", raises=ValueError)
def _is_email(value) -> bool:
    if isinstance(value, str) and not _EMAIL.match(value):
        raise ValueError("must be an e-mail address such as someone@example.edu")
    return True


def _message(error: jsonschema.ValidationError) -> str:
    """jsonschema's message, but the offending value shown by its first characters only
    (models.errors.quoted): jsonschema's own repeats the whole value (`'…' is too long`)."""
    if error.validator == "format" and error.cause is not None:
        return clipped(str(error.cause), MESSAGE_MAX)
    instance = error.instance
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        known = error.schema.get("properties", {})
        extra = [name for name in instance if name not in known]
        shown = ", ".join(quoted(name) for name in extra[:3]) + (", …" if len(extra) > 3 else "")
        return f"Additional properties are not allowed ({shown} unexpected)"
    message, shown = error.message, repr(instance)  # jsonschema writes the value as its repr
    if shown in message:
        message = message.replace(shown, quoted(instance), 1)
    return clipped(message, MESSAGE_MAX)


_PARAMETER_VALIDATORS: dict[int, tuple] = {}


def _parameter_validator(schema: dict) -> Draft4Validator:
    """The validator of a parameter's schema, built once: Connexion makes a new parameter
    validator per request, and building a Draft4Validator for each parameter present cost
    ~9 us apiece, for every parameter the request carries."""
    entry = _PARAMETER_VALIDATORS.get(id(schema))
    if entry is None or entry[0] is not schema:
        entry = _PARAMETER_VALIDATORS[id(schema)] = (
            schema,
            Draft4Validator(schema, format_checker=parameter_format_checker),
        )
    return entry[1]


# A value's verdict is a function of the schema and the value alone, and clients send the same
# few values again and again (`sort=created_at__desc`, `per_page=20`): remember the verdicts
# of short values, the most recently used `_VERDICTS_MAX` of them (models.lru.LRU: a stream of
# new values cannot grow it). Running the validator cost ~10-25 us per parameter present.
_VERDICTS_MAX = 4096
_VERDICTS = LRU(_VERDICTS_MAX)
_SHORT = 200  # characters of a value (all its items' together, for a list) worth remembering


def _frozen(value):
    """A hashable key for a parsed parameter value that tells `True` from `1`, or None when
    the value is not worth remembering (more than `_SHORT` characters, its items' together)."""
    if isinstance(value, list):
        if len(value) > _SHORT or sum(len(v) if isinstance(v, str) else 1 for v in value) > _SHORT:
            return None
        items = tuple(_frozen(v) for v in value)
        return None if None in items else ("list", items)
    if isinstance(value, str) and len(value) > _SHORT:
        return None
    if isinstance(value, (str, int, float, bool)):
        return (type(value).__name__, value)
    return None


def _parameter_messages(schema: dict, value) -> tuple[str, ...]:
    """What is wrong with `value` under `schema` (nothing: an empty tuple)."""
    frozen = _frozen(value)
    key = None if frozen is None else (id(schema), frozen)
    if key is not None:
        found = _VERDICTS.get(key)
        if found is not None and found[0] is schema:
            return found[1]
    messages = tuple(_message(e) for e in _parameter_validator(schema).iter_errors(value))
    if key is not None:
        _VERDICTS.put(key, (schema, messages))
    return messages


class NamingParameterValidator(ParameterValidator):
    """Connexion's parameter validator, but every error names its parameter, all at once."""

    def _errors_for(self, location: str, param: dict, value) -> list[dict]:
        name = param["name"]
        if value is None:
            if param.get("required"):
                return [{"name": name, "in": location, "message": "is required"}]
            return []
        return [
            {"name": name, "in": location, "message": message}
            for message in _parameter_messages(param.get("schema", param), value)
        ]

    @functools.cached_property
    def _query_table(self) -> tuple[dict, dict, list, set]:
        """The operation's query parameters by name, their spec order, and the required ones:
        a request names a few of the tens a list accepts, so it is checked from its own
        (the security scheme names: never unknown)."""
        params = self.parameters.get("query", [])
        names = set(self.security_query_params or ())
        return (
            {p["name"]: p for p in params},
            {p["name"]: i for i, p in enumerate(params)},
            [p for p in params if p.get("required")],
            names,
        )

    def validate_request(self, request: ConnexionRequest):
        errors = []
        by_name, order, required, security_names = self._query_table
        query = request.query_params
        if self.strict_validation:
            for name in sorted(set(query) - by_name.keys() - security_names):
                errors.append(
                    {
                        "name": clipped(name),
                        "in": "query",
                        "message": "is not a parameter of this operation",
                    }
                )
        present = [by_name[name] for name in query if name in by_name]
        present += [p for p in required if p["name"] not in query]
        for param in sorted(present, key=lambda p: order[p["name"]]):
            errors += self._errors_for("query", param, query.get(param["name"]))
        for param in self.parameters.get("path", []):
            value = request.path_params.get(param["name"].replace("-", "_"))
            errors += self._errors_for("path", param, value)
        for param in self.parameters.get("header", []):
            errors += self._errors_for("header", param, request.headers.get(param["name"]))
        if errors:
            raise ProblemException(
                status=400,
                title="Bad Request",
                detail=f"Invalid request parameter(s): {named(errors)}",
                ext={"errors": errors[:MAX_ERRORS]},
            )


def named(errors: list[dict]) -> str:
    """The names of the offending parameters or fields, for a problem's detail: each once, at
    most MAX_ERRORS of them (the count of the others said)."""
    names = list(dict.fromkeys(e["name"] or "(body)" for e in errors))
    shown = ", ".join(names[:MAX_ERRORS])
    return shown if len(names) <= MAX_ERRORS else f"{shown} and {len(names) - MAX_ERRORS} more"


def _body_field(error: jsonschema.ValidationError) -> str:
    """`files[3].checksums[0].digest`-style name of the offending field ('' for the body)."""
    name = ""
    for part in error.absolute_path:  # a key not in the schema is the caller's: clipped
        name += (
            f"[{part}]"
            if isinstance(part, int)
            else (f".{clipped(part)}" if name else clipped(part))
        )
    if error.validator == "required":  # name the missing property, not its parent
        missing = error.message.split("'")[1] if "'" in error.message else ""
        name = f"{name}.{missing}" if name else missing
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = error.schema.get("properties", {})
        extra = clipped(next((key for key in error.instance if key not in known), ""))
        name = f"{name}.{extra}" if name else extra
    return name


_COMPILED: dict[int, tuple] = {}


def _accepts(schema: dict):
    """The compiled yes/no check of a body schema (None when it cannot be compiled), made
    once per schema: Connexion builds a validator per request, always with the same schema."""
    entry = _COMPILED.get(id(schema))
    if entry is None or entry[0] is not schema:
        entry = _COMPILED[id(schema)] = (schema, compile_schema(schema, format_checker))
    return entry[1]


class NamingJSONBodyValidator(JSONBodyValidator):
    """Connexion's JSON body validator, reporting every offending field at once, by name.

    A valid body is recognised by jsonschema-rs first (registry.web.body_check), many
    times faster than jsonschema; only a body it refuses is walked by jsonschema for errors."""

    MAX_ERRORS = MAX_ERRORS

    async def wrap_receive(self, receive, *, scope):
        """Connexion takes a request without a Content-Length for one without a body (400
        "RequestBody is required"), but HTTP/1.1 also frames a body with Transfer-Encoding:
        chunked, which has none. Such a body is read here and given the Content-Length it
        has; then it is checked like any other (an empty one as missing)."""
        headers = Headers(scope=scope)
        if "content-length" not in headers and "transfer-encoding" in headers:
            messages = []
            while True:
                message = await receive()
                messages.append(message)
                if message["type"] != "http.request" or not message.get("more_body", False):
                    break
            length = sum(len(m.get("body", b"")) for m in messages)
            scope = {
                **scope,
                "headers": [*scope["headers"], (b"content-length", str(length).encode())],
            }
            receive = _replay(messages, receive)
        return await super().wrap_receive(receive, scope=scope)

    async def parse(self, raw: bytes, scope: dict):
        if not raw:
            return None
        try:
            body = loads_body(raw, self.encoding)
        except LookupError:  # `charset=rot13`, `charset=`: no text encoding Python knows
            raise ProblemException(
                status=400,
                title="Bad Request",
                detail=f"The Content-Type names a charset that is not a text encoding: "
                f"{quoted(self.encoding)}",
                ext={
                    "errors": [
                        {
                            "name": "Content-Type",
                            "in": "header",
                            "message": "names an unknown charset",
                        }
                    ]
                },
            ) from None
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            detail = clipped(str(exc), 200)
            raise ProblemException(
                status=400,
                title="Bad Request",
                detail=f"The request body is not valid JSON: {detail}",
                ext={"errors": [{"name": "", "in": "body", "message": "not valid JSON"}]},
            ) from None
        # JSON writes U+0000 in a string only as the escape \u0000 (a raw control character is
        # invalid JSON, refused by both parsers): a UTF-8 body without that escape holds no
        # U+0000 at all, and the walk of every text in it (a tenth of a batch's time) is skipped.
        self._may_hold_nul = not _is_utf8(self.encoding) or b"\\u0000" in raw
        scope[PARSED_BODY] = body
        return body

    def check(self, body):
        if not self.nullable and body is None:
            raise ProblemException(
                status=400,
                title="Bad Request",
                detail="The request body must not be empty",
                ext={"errors": [{"name": "", "in": "body", "message": "is required"}]},
            )
        accepts = _accepts(self.schema)
        may_hold_nul = getattr(self, "_may_hold_nul", True)
        if accepts is not None and accepts(body):
            return _without_nul(body) if may_hold_nul else body
        validator = Draft4RequestValidator(self.schema, format_checker=format_checker)
        errors = []
        for error in validator.iter_errors(body):
            errors.append({"name": _body_field(error), "in": "body", "message": _message(error)})
            if len(errors) >= self.MAX_ERRORS:
                break
        if errors:
            raise ProblemException(
                status=400,
                title="Bad Request",
                detail=f"Invalid request body field(s): {named(errors)}",
                ext={"errors": errors},
            )
        return _without_nul(body) if may_hold_nul else body


def _replay(messages: list, receive):
    """A receive channel that gives `messages` first, then what `receive` gives."""
    pending = iter(messages)

    async def replayed():
        for message in pending:
            return message
        return await receive()

    return replayed


def _nul_fields(value, name: str = ""):
    """The body fields (`files[3].note`-style names) whose text contains U+0000."""
    if isinstance(value, str):
        if "\x00" in value:
            yield name
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _nul_fields(item, f"{name}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _nul_fields(item, f"{name}.{clipped(key)}" if name else clipped(key))


def _without_nul(body):
    """A schema-valid body, unless a text in it holds U+0000: JSON allows it, but PostgreSQL
    cannot store it, so it is a rule of the registry (422, as the admin spec's RuleViolation
    says), on both backends alike."""
    names = list(itertools.islice(_nul_fields(body), NamingJSONBodyValidator.MAX_ERRORS))
    if names:
        raise ProblemException(
            status=422,
            title="Unprocessable Content",
            detail=f"Text the registry cannot store (it contains U+0000): {', '.join(names)}",
            ext={
                "errors": [
                    {"name": n, "in": "body", "message": "must not contain U+0000"} for n in names
                ]
            },
        )
    return body
