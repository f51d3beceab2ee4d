"""GET requests answered in one pass, instead of through Connexion's chain of middlewares.

A GET that Connexion serves goes through a dozen ASGI layers: three Starlette routers (Swagger
UI's, the routing middleware's and the app's own, each matching the path again), the security,
validation and context middlewares, each wrapping `send` or copying the scope, and a decorator
chain that builds a request object per layer. Measured under load, that chain took half of a
worker's time on a list and more on a show (bench/results).

This middleware sits in front of that chain and answers the GET operations of both APIs with
the same parts the chain would use, put together once per operation at start-up: the spec's
parameters and Connexion's URI parser, the parameter validator of the app's validator map,
Connexion's own security verification over our security functions, and the handler as the
resolver wrapped it (role check included). A request that fails one of them (a missing or bad
key, a parameter the validator refuses, a handler that raises) is answered here too, in the
same pass, by the app's own error handler for the exception (registry/web/errors.py), as the
chain's exception middleware would answer it. Only a path it does not route, a request with a
body or content type, or a handler that returns no response goes, untouched, to the full chain
(logged at debug level, with the reason). Behind the app's pipeline no GET has a body or content
type any more: the request limits (registry/web/limits.py) drop them, unread.

`tests/test_fast_reads.py` holds the two paths to the same bytes, request by request.
"""

from __future__ import annotations

import functools
import inspect
import logging
import re
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass

from connexion.exceptions import OAuthProblem, OAuthResponseProblem
from connexion.frameworks.starlette import starlettify_path
from connexion.lifecycle import ConnexionRequest
from connexion.operations import OpenAPIOperation
from connexion.security import SecurityHandlerFactory
from connexion.spec import Specification
from connexion.utils import deep_merge, get_function_from_name, inspect_function_arguments
from starlette.responses import Response
from starlette.routing import compile_path

from models.lru import LRU
from registry.web import connexion_seam, observe
from registry.web.binding import RequestTarget
from registry.web.connexion_seam import sanitized, unwrap_decorators
from registry.web.errors import handler_for
from registry.web.uri_parser import URIParser

log = logging.getLogger(__name__)


class _URIParser(URIParser):
    """The app's URI parser (registry/web/uri_parser.py), but its table of parameter schemas,
    which it rebuilds on every access (once per query parameter), is built once: a route keeps
    its parser."""

    @functools.cached_property
    def param_schemas(self):
        return {k: v.get("schema", {}) for k, v in self.param_defns.items()}


@dataclass
class ReadRoute:
    """One GET operation, with everything a request of it needs, built once."""

    operation: OpenAPIOperation
    pattern: re.Pattern
    convertors: dict
    uri_parser: URIParser
    parameters: ValidParameters  # the app's parameter validator, bound to this operation
    verify: Callable  # fills in the request's context, or raises the chain's 401/403
    endpoint: Callable  # the guarded handler's binding (registry.web.authz.guard): (target, kwargs)
    handler_arguments: HandlerArguments

    response_validation: Callable | None = None  # wraps the response when validation is on

    async def answer(self, scope: dict, receive):
        """The handler's response (an ASGI app), or None when the full chain must answer
        instead (the handler returned something else than a response). Raises what the
        chain's layers would raise: the security's 401 or 403, the validator's 400, the
        handler's errors."""
        match = self.pattern.match(scope["path"])
        if match is None:
            return None
        scope = {
            **scope,
            "extensions": {**scope.get("extensions", {}), "connexion_context": {}},
            "path_params": {
                name: self.convertors[name].convert(value)
                for name, value in match.groupdict().items()
            },
        }
        request = ConnexionRequest(scope, receive, uri_parser=self.uri_parser)
        await self.verify(request)
        path_params, query_params = self.parameters(scope, request)
        kwargs = self.handler_arguments(path_params, query_params, request.context)
        response = await self.endpoint(RequestTarget.of(scope), kwargs)
        if not isinstance(response, Response):
            return None
        if self.response_validation is not None:
            return self.response_validation(response)
        return response


class ValidParameters:
    """The parsed path and query parameters of a request that passes validation, remembered by
    its path and query string.

    Parsing them (Connexion's URI parser) and validating them is a function of those two
    strings alone, and took a sixth of a small list's time in-process; clients ask the same
    URLs again and again (a poll of a work item, the next page). Only requests that passed are
    remembered, so a refused one is checked, and refused by the chain, every time. The
    remembered dicts are only read: the handler's arguments are built from them anew
    (HandlerArguments converts each value). Every operation's URLs share one LRU (`KNOWN`) of
    `MAX_ENTRIES`, whatever the number of operations: a stream of new URLs replaces the least
    recently used ones, and memory stays flat (at most ~2 KB of URL and parameters each)."""

    MAX_ENTRIES = 2048
    LONGEST = 1024  # characters of path and query string worth remembering
    KNOWN = LRU(MAX_ENTRIES)

    def __init__(self, validator):
        self.validator = validator
        # Header parameters would make the answer depend on more than the URL.
        self.remember = not validator.parameters.get("header")

    def __call__(self, scope: dict, request: ConnexionRequest) -> tuple[dict, dict]:
        """(path parameters, query parameters), or the validator's exception."""
        key = (id(self), scope["path"], scope["query_string"])
        found = self.KNOWN.get(key)
        if found is not None and found[0] is self:
            return found[1]
        self.validator.validate_request(request)
        parsed = (request.path_params, request.query_params)
        if self.remember and len(key[1]) + len(key[2]) <= self.LONGEST:
            self.KNOWN.put(key, (self, parsed))
        return parsed

    def remembers(self, path: str, query_string: bytes) -> bool:
        found = self.KNOWN.get((id(self), path, query_string))
        return found is not None and found[0] is self


class HandlerArguments:
    """Connexion's `get_arguments` for a GET without a body, with the tables it derives from
    the operation on every call (definitions by name, deep-copied defaults) built once."""

    def __init__(self, operation: OpenAPIOperation):
        if operation.is_request_body_defined:
            raise ValueError(f"{operation.operation_id}: a GET with a request body")
        self.arguments, self.has_kwargs = inspect_function_arguments(
            unwrap_decorators(operation.function)
        )
        self.path_definitions = {p["name"]: p for p in operation.parameters if p["in"] == "path"}
        self.query_definitions = {p["name"]: p for p in operation.parameters if p["in"] == "query"}
        self.defaults = connexion_seam.query_defaults(self.query_definitions)
        # Connexion deep-copies the defaults on every call; scalars need no copy.
        self.copy_defaults = (
            deepcopy if any(isinstance(v, (list, dict)) for v in self.defaults.values()) else dict
        )

    def __call__(self, path_params: dict, query_params: dict, context: dict) -> dict:
        """The handler's keyword arguments: path, then query parameters, then the context
        entries (the caller) it takes."""
        kwargs = {}
        for name, value in path_params.items():
            definition = self.path_definitions.get(name)
            kwargs[sanitized(name)] = (
                value if definition is None else connexion_seam.value_from_param(value, definition)
            )
        query = (
            deep_merge(self.copy_defaults(self.defaults), query_params)
            if self.defaults
            else query_params
        )
        for name, value in query.items():  # Connexion's _query_args_helper, without its logging
            key = sanitized(name)
            definition = self.query_definitions.get(name)
            if definition is not None and (self.has_kwargs or key in self.arguments):
                kwargs[key] = connexion_seam.value_from_param(value, definition)
        for key, value in context.items():
            if self.has_kwargs or key in self.arguments:
                kwargs[key] = value
        return kwargs


class FastReads:
    """ASGI middleware: GETs of the routed operations answered here, the rest passed on.

    An answer, error answers included, is given in one pass: an exception raised on the way
    (the security's 401 or 403, the validator's 400, the handler's 404, anything unexpected)
    is answered by the app's own error handler for it (`error_handlers`: registry/web/errors.py),
    its response converted as Connexion's exception middleware converts it."""

    def __init__(self, app, routes: list[ReadRoute], error_handlers: dict):
        self.app = app
        self.error_handlers = error_handlers
        self.static = {}
        self.dynamic = []
        for route in routes:
            if route.convertors:
                self.dynamic.append(route)
            else:
                self.static.setdefault(route.pattern.pattern, route)
        self.static = {_literal(pattern): route for pattern, route in self.static.items()}

    def route(self, path: str) -> ReadRoute | None:
        route = self.static.get(path)
        if route is not None:
            return route
        for route in self.dynamic:
            if route.pattern.match(path):
                return route
        return None

    async def answer(self, route: ReadRoute, scope: dict, receive):
        """The route's answer, an error answer, or None (the chain must answer)."""
        try:
            return await route.answer(scope, receive)
        except Exception as exc:
            return await self.error_answer(scope, receive, exc)

    async def error_answer(self, scope: dict, receive, exc: Exception) -> Response:
        handler = handler_for(self.error_handlers, exc)
        if handler is None:  # the table handles Exception: only a table without it
            raise exc
        return await connexion_seam.error_response(handler, scope, receive, exc)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "GET":
            return await self.app(scope, receive, send)
        route = self.route(scope["path"])
        if route is None:
            reason = "no GET operation at this path"
        elif scope.get("root_path"):
            reason = "mounted under a root path"
        elif _has_body(scope):
            reason = "a body or content type"
        else:
            observe.note_operation(route.operation.operation_id)
            response = await self.answer(route, scope, receive)
            if response is not None:
                if route.response_validation is None:
                    return await response(scope, receive, send)
                return await self.send_validated(response, scope, receive, send)
            reason = "the handler returned no response"
        log.debug("GET %s to Connexion's chain: %s", scope["path"], reason)
        await self.app(scope, receive, send)

    async def send_validated(self, response, scope, receive, send):
        """Send a response that is validated as it is sent: one the spec refuses is answered
        (before its start was sent) by the error handlers, as in the chain."""
        started = False

        async def tracking(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await response(scope, receive, tracking)
        except Exception as exc:
            if started:
                raise
            await (await self.error_answer(scope, receive, exc))(scope, receive, send)


def _has_body(scope) -> bool:
    """A GET with a body, or a content type (which the chain checks against the operation's),
    is left to the chain: reading the body here would leave none for it."""
    for name, value in scope["headers"]:
        if name in (b"transfer-encoding", b"content-type") or (
            name == b"content-length" and value != b"0"
        ):
            return True
    return False


def _literal(pattern: str) -> str:
    """The path a static route's regex (`^/a/b$`) matches."""
    return re.sub(r"\\(.)", r"\1", pattern[1:-1])


def read_routes(
    document: dict,
    resolver,
    *,
    base_path: str,
    validator_map: dict,
    security_map: dict,
    strict_validation: bool,
    validate_responses: bool,
) -> list[ReadRoute]:
    """A ReadRoute for each GET operation of `document`, in the spec's order (the order in
    which Starlette, and so Connexion, tries them)."""
    specification = Specification.load(document)
    factory = SecurityHandlerFactory(security_map)
    routes = []
    for path, methods in specification["paths"].items():
        if "get" not in methods:
            continue
        operation = OpenAPIOperation.from_spec(
            specification, path=path, method="get", resolver=resolver, uri_parser_class=URIParser
        )
        regex, _, convertors = compile_path(
            base_path.rstrip("/") + starlettify_path(path, operation.get_path_parameter_types())
        )
        uri_parser = _URIParser(operation.parameters, operation.body_definition())
        verify = _header_keys(operation) or _connexion_verification(operation, factory)
        routes.append(
            ReadRoute(
                operation=operation,
                pattern=regex,
                convertors=convertors,
                uri_parser=uri_parser,
                parameters=ValidParameters(
                    validator_map["parameter"](
                        operation.parameters,
                        uri_parser=uri_parser,
                        strict_validation=strict_validation,
                        security_query_params=[],
                    )
                ),
                verify=verify,
                endpoint=operation.function.bound,
                handler_arguments=HandlerArguments(operation),
                response_validation=_response_validation(operation, validator_map)
                if validate_responses
                else None,
            )
        )
    return routes


def _connexion_verification(operation, factory):
    """Connexion's own verification of the operation's security (raises when it fails)."""
    return connexion_seam.security_verification(operation, factory)


def _header_keys(operation):
    """For the security this project uses (requirements, tried in the spec's order, each either
    API keys in headers, like X-Pharos-API-User AND X-Pharos-API-Key, or one HTTP bearer
    scheme): the same verification as Connexion's (connexion.security.SecurityHandlerFactory.
    verify_security), the scheme functions called in the spec's order and the context filled
    in the same way, without its three layers of wrappers. None for any other security."""
    if not operation.security:
        return None
    requirements = []
    for requirement in operation.security:
        schemes = []
        for name in requirement:
            scheme = operation.security_schemes[name]
            if scheme.get("type") == "apiKey" and scheme.get("in") == "header":
                function = get_function_from_name(scheme["x-apikeyInfoFunc"])
                header = scheme["name"]
            elif scheme.get("type") == "http" and scheme.get("scheme", "").lower() == "bearer":
                if len(requirement) != 1:
                    return None
                function = get_function_from_name(scheme["x-bearerInfoFunc"])
                header = None  # Authorization: Bearer <token>
            else:
                return None
            takes_request = "request" in inspect.signature(function).parameters
            schemes.append((name, header, function, takes_request))
        if not schemes:
            return None  # an empty requirement (optional security): not this project's
        requirements.append(schemes)

    async def call(function, value, request, takes_request, message):
        result = function(value, request=request) if takes_request else function(value)
        while inspect.isawaitable(result):
            result = await result
        if result is None:
            raise OAuthResponseProblem(detail=message)
        return result

    async def attempt(schemes, headers, request):
        """The requirement's token info, or None when its credentials were not sent."""
        if schemes[0][1] is None:  # bearer
            name, _, function, takes_request = schemes[0]
            authorization = headers.get("Authorization")
            if not authorization:
                return None
            try:
                kind, token = authorization.split(maxsplit=1)
            except ValueError:
                raise OAuthProblem(detail="Invalid authorization header") from None
            if kind.lower() != "bearer":
                return None
            return await call(
                function, token, request, takes_request, "Provided token is not valid"
            )
        token_info = {}
        for name, header, function, takes_request in schemes:
            value = headers.get(header)
            if value is None:
                return None
            token_info[name] = await call(
                function, value, request, takes_request, "Provided apikey is not valid"
            )
        return token_info if len(schemes) > 1 else token_info[schemes[0][0]]

    async def verify(request) -> None:
        headers = request.headers
        errors = []
        for schemes in requirements:
            try:
                token_info = await attempt(schemes, headers, request)
            except Exception as exc:
                errors.append(exc)
                continue
            if token_info is not None:
                break
        else:
            if errors:
                raise _most_specific(errors)
            raise OAuthProblem(detail="No authorization token provided")
        request.context.update(
            {"user": token_info.get("sub", token_info.get("uid")), "token_info": token_info}
        )

    return verify


def _most_specific(errors: list[Exception]) -> Exception:
    """Of the requirements' failures, the one Connexion raises: a 403 before a 401, else the
    lowest status (the last of equals, as Connexion keeps it)."""
    by_status = {getattr(e, "status_code", getattr(e, "status", 600)): e for e in errors}
    for status in (403, 401):
        if status in by_status:
            return by_status[status]
    return by_status[min(by_status)]


def _response_validation(operation, validator_map):
    """Connexion's response check of `operation`, around a ready response."""

    def validated(response):
        return connexion_seam.validated_response(response, operation, validator_map)

    return validated
