"""Every use of a Connexion (or Starlette) internal, in this one module.

The project relies on a few names Connexion does not publish: two of its parameter helpers, two
private hooks of its body validator and security handler, the module
table of path converters, and the classes of its decorator chain and middlewares. They may move
in any minor release (the pin is `connexion>=3.3,<4`), so they are used here only, under public
names of our own, and `check()` (called by the app factory) verifies at start-up that each of
them is still there with the signature we call it with: a release that moved one fails at
start-up, with one error naming the installed Connexion version, never at a request.

tests/test_connexion_seam.py proves the check fires, and scans every other module of the
project for a private name of a third-party package.
"""

from __future__ import annotations

import functools
import inspect
import json
from importlib import metadata

import connexion.context as connexion_context
import connexion.decorators.parameter as connexion_parameter
import connexion.frameworks.starlette as connexion_starlette
import connexion.middleware.abstract as connexion_middleware
from connexion.apps.asynchronous import AsyncOperation
from connexion.decorators.main import ASGIDecorator
from connexion.exceptions import NonConformingResponseBody
from connexion.lifecycle import ConnexionRequest
from connexion.middleware.response_validation import ResponseValidationOperation
from connexion.middleware.security import SecurityOperation
from connexion.security import (
    AbstractSecurityHandler,
    ApiKeySecurityHandler,
    BearerSecurityHandler,
)
from connexion.validators.json import JSONRequestBodyValidator, JSONResponseBodyValidator
from starlette.requests import Request as StarletteRequest
from starlette.responses import Response

__all__ = [
    "SeamError",
    "check",
    "query_defaults",
    "value_from_param",
    "sanitized",
    "unwrap_decorators",
    "security_verification",
    "validated_response",
    "decorate_handlers_once",
    "route_integer_path_parameters_as_text",
    "ApiKeyHandler",
    "BearerHandler",
    "JSONBodyValidator",
    "error_response",
    "routed_operation_id",
]


class SeamError(RuntimeError):
    """An internal of Connexion the project relies on is gone or changed."""


def connexion_version() -> str:
    try:
        return metadata.version("connexion")
    except metadata.PackageNotFoundError:  # pragma: no cover - installed in every environment
        return "unknown"


def _parameters(function) -> list[str]:
    return list(inspect.signature(function).parameters)


# What this module relies on: (description, test). Each test returns true when the name is
# there as we use it.
_REQUIREMENTS = [
    (
        "connexion.decorators.parameter._get_val_from_param(value, param_definitions)",
        lambda: (
            _parameters(connexion_parameter._get_val_from_param) == ["value", "param_definitions"]
        ),
    ),
    (
        "connexion.decorators.parameter._get_query_defaults(query_definitions)",
        lambda: _parameters(connexion_parameter._get_query_defaults) == ["query_definitions"],
    ),
    (
        "connexion.decorators.parameter.sanitized(name) and unwrap_decorators(function)",
        lambda: (
            _parameters(connexion_parameter.sanitized) == ["name"]
            and _parameters(connexion_parameter.unwrap_decorators) == ["function"]
        ),
    ),
    (
        "connexion.frameworks.starlette.PATH_PARAMETER_CONVERTERS (a dict with 'integer')",
        lambda: isinstance(getattr(connexion_starlette, "PATH_PARAMETER_CONVERTERS", None), dict),
    ),
    (
        "connexion.middleware.abstract.ROUTING_CONTEXT (a str: the scope extension its routing "
        "writes the operation_id it found to)",
        lambda: isinstance(getattr(connexion_middleware, "ROUTING_CONTEXT", None), str),
    ),
    (
        "connexion.apps.asynchronous.AsyncOperation.fn (a property)",
        lambda: isinstance(inspect.getattr_static(AsyncOperation, "fn", None), property),
    ),
    (
        "connexion.decorators.main.ASGIDecorator: __call__(function), decorate(function), "
        "framework, uri_parser",
        lambda: (
            _parameters(ASGIDecorator.__call__) == ["self", "function"]
            and _parameters(ASGIDecorator.decorate) == ["self", "function"]
            and isinstance(inspect.getattr_static(ASGIDecorator, "uri_parser", None), property)
            and hasattr(ASGIDecorator, "framework")
        ),
    ),
    (
        "connexion.frameworks.starlette.Starlette.get_request(scope=, receive=, uri_parser=)",
        lambda: (
            {"scope", "receive", "uri_parser"}
            <= set(_parameters(connexion_starlette.Starlette.get_request))
        ),
    ),
    (
        "connexion.security.AbstractSecurityHandler._accepts_kwarg(func, keyword)",
        lambda: _parameters(AbstractSecurityHandler._accepts_kwarg) == ["func", "keyword"],
    ),
    (
        "connexion.middleware.security.SecurityOperation.from_operation(operation, "
        "next_app=, security_handler_factory=).verification_fn",
        lambda: (
            {"operation", "next_app", "security_handler_factory"}
            <= set(_parameters(SecurityOperation.from_operation))
        ),
    ),
    (
        "connexion.middleware.response_validation.ResponseValidationOperation(next_app, "
        "operation, validator_map)",
        lambda: (
            _parameters(ResponseValidationOperation.__init__)[:4]
            == ["self", "next_app", "operation", "validator_map"]
        ),
    ),
    (
        "connexion.validators.json.JSONRequestBodyValidator: _parse(stream, scope), "
        "_validate(body), and _schema, _nullable, _encoding set by __init__",
        lambda: (
            _parameters(JSONRequestBodyValidator._parse) == ["self", "stream", "scope"]
            and _parameters(JSONRequestBodyValidator._validate) == ["self", "body"]
            and {"_schema", "_nullable", "_encoding"}
            <= vars(
                JSONRequestBodyValidator(
                    schema={}, nullable=False, encoding="utf-8", strict_validation=False
                )
            ).keys()
        ),
    ),
    (
        "connexion.validators.json.JSONResponseBodyValidator._parse(stream), _encoding",
        lambda: (
            _parameters(JSONResponseBodyValidator._parse) == ["self", "stream"]
            and "_encoding"
            in vars(JSONResponseBodyValidator({}, schema={}, encoding="utf-8")).keys()
        ),
    ),
]


def check() -> None:
    """Raise SeamError, naming the installed Connexion version and every missing or changed
    name, unless all the internals this module uses are there as it uses them."""
    missing = []
    for description, present in _REQUIREMENTS:
        try:
            ok = present()
        except Exception:  # an AttributeError, a signature that cannot be read...
            ok = False
        if not ok:
            missing.append(description)
    if missing:
        raise SeamError(
            f"Connexion {connexion_version()} lacks internals Registry relies on "
            f"(registry/web/connexion_seam.py; the project is tested with the version in its "
            f"lock file): " + "; ".join(missing)
        )


# Parameters: Connexion's own helpers, so that the fast reads convert as the chain does.

sanitized = functools.lru_cache(maxsize=1024)(connexion_parameter.sanitized)
unwrap_decorators = connexion_parameter.unwrap_decorators


def query_defaults(query_definitions: dict) -> dict:
    """The default of each query parameter that has one, as Connexion applies them."""
    return connexion_parameter._get_query_defaults(query_definitions)


def value_from_param(value, definition: dict):
    """`value` cast as its parameter definition says, as Connexion casts it."""
    return connexion_parameter._get_val_from_param(value, definition)


def routed_operation_id(scope) -> str | None:
    """The operationId Connexion's routing found for the request (written into the scope's
    `extensions`, a dict the copies of the scope share), or None (no route, or not routed)."""
    extensions = scope.get("extensions")
    if not extensions:
        return None
    routing = extensions.get(connexion_middleware.ROUTING_CONTEXT)
    return routing.get("operation_id") if routing else None


# Security and response validation of one operation, as Connexion's middlewares do them.


def security_verification(operation, factory):
    """Connexion's verification of `operation`'s security: `await verify(request)` fills in
    the request's context, or raises the problem (401, 403) the chain would raise."""
    return SecurityOperation.from_operation(
        operation, next_app=None, security_handler_factory=factory
    ).verification_fn


def validated_response(response, operation, validator_map):
    """`response` wrapped in Connexion's response validation of `operation`."""
    return ResponseValidationOperation(response, operation=operation, validator_map=validator_map)


# Error answers, converted from a Connexion error handler's response as its
# ExceptionMiddleware converts them (connexion.middleware.exceptions.connexion_wrapper).


async def error_response(handler, scope: dict, receive, exc: Exception) -> Response:
    """The response the chain's ExceptionMiddleware sends for `exc` with `handler`."""
    request = ConnexionRequest.from_starlette_request(StarletteRequest(scope, receive))
    response = handler(request, exc)
    while inspect.isawaitable(response):
        response = await response
    return Response(
        content=response.body,
        status_code=response.status_code,
        media_type=response.mimetype,
        headers=response.headers,
    )


# Process-wide adjustments of Connexion, made once by the app factory.


def route_integer_path_parameters_as_text() -> None:
    """Let `/items/show/abc` reach parameter validation (400 naming `id`) instead of failing
    to route (a bare 404): Connexion would otherwise give integer path parameters Starlette's
    `int` converter, which only matches digits. Validation still types and bounds the value."""
    connexion_starlette.PATH_PARAMETER_CONVERTERS.pop("integer", None)


_DECORATES_ONCE = "_registry_decorates_once"


def decorate_handlers_once() -> None:
    """Wrap each handler in Connexion's decorators once per operation, not once per request
    (idempotent).

    Connexion 3 rebuilds an operation's decorator chain on every call: `AsyncOperation.fn`
    makes a new `StarletteDecorator`, whose wrapper runs `decorate()` again, which unwraps the
    handler and reads its signature with `inspect.signature` (five times a request). Measured
    in-process, that was ~0.15 ms of a 0.5 ms `show_object`. The chain depends only on the
    operation (its handler, `pythonic_params` and jsonifier), never on the request: the
    request reaches the decorated function as its argument, and its parameters through
    Connexion's context variables. So the chain is built on first use and kept."""
    if getattr(AsyncOperation, _DECORATES_ONCE, False):
        return
    build_fn = AsyncOperation.fn.fget

    def fn(self):
        try:
            return self.__dict__["_registry_fn"]
        except KeyError:
            self.__dict__["_registry_fn"] = built = build_fn(self)
            return built

    def call(self, function):
        decorated = None

        @functools.wraps(function)
        async def wrapper(*args, **kwargs):
            nonlocal decorated
            request = self.framework.get_request(
                uri_parser=self.uri_parser,
                scope=connexion_context.scope,
                receive=connexion_context.receive,
            )
            if decorated is None:
                decorated = self.decorate(function)
            return await decorated(request)

        return wrapper

    AsyncOperation.fn = property(fn)
    ASGIDecorator.__call__ = call
    setattr(AsyncOperation, _DECORATES_ONCE, True)


class ApiKeyHandler(ApiKeySecurityHandler):
    """Connexion's API-key handler, but it reads our functions' signatures once.

    Connexion asks, on every request and for each of the two schemes, whether the security
    function accepts `request` and `required_scopes`, through `inspect.signature`: four
    signature reads a request, which the function's identity fully determines."""

    _accepts_kwarg = staticmethod(functools.cache(AbstractSecurityHandler._accepts_kwarg))


class BearerHandler(BearerSecurityHandler):
    """Connexion's bearer handler, reading our functions' signatures once (as ApiKeyHandler)."""

    _accepts_kwarg = staticmethod(functools.cache(AbstractSecurityHandler._accepts_kwarg))


class JSONBodyValidator(JSONRequestBodyValidator):
    """Connexion's JSON body validator, with its private hooks under public names: override
    `parse(raw, scope)` (the body's bytes, read whole) and `check(body)`; `schema`, `nullable`
    and `encoding` are the operation's."""

    @property
    def schema(self) -> dict:
        return self._schema

    @property
    def nullable(self) -> bool:
        return self._nullable

    @property
    def encoding(self) -> str:
        return self._encoding

    async def parse(self, raw: bytes, scope: dict):
        raise NotImplementedError

    def check(self, body):
        return super()._validate(body)

    async def _parse(self, stream, scope):
        return await self.parse(b"".join([message async for message in stream]), scope)

    def _validate(self, body):
        return self.check(body)


class NDJSONResponseBodyValidator(JSONResponseBodyValidator):
    """Response validation (REGISTRY_VALIDATE_RESPONSES, on in the tests) of an NDJSON export:
    the lines, each one JSON value, validated as the array the spec declares. Without it,
    Connexion's JSON validator (`*/*json` matches `application/x-ndjson`) would parse the
    whole stream as one document and fail on its second line."""

    def _parse(self, stream) -> list:
        body = b"".join(stream).decode(self._encoding)
        try:
            return [json.loads(line) for line in body.splitlines() if line]
        except ValueError as exc:
            raise NonConformingResponseBody(f"not NDJSON: {exc}") from None
