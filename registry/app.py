"""The application factory: `create_app(settings)` returns the ASGI app; nothing runs at import."""

from __future__ import annotations

import copy
import functools

import connexion
from connexion.datastructures import MediaTypeDict
from connexion.options import SwaggerUIOptions
from connexion.validators import VALIDATOR_MAP
from starlette.responses import Response

from models.storage.db import init_database
from registry.settings import Settings
from registry.spec import ADMIN_SPEC, MEMBER_SPEC, load_spec, published
from registry.spec import files as spec_files
from registry.web import connexion_seam, errors, observe, pipeline, security, threads, validation
from registry.web.allowed_methods import AllowedMethods
from registry.web.authz import AuthorizingResolver
from registry.web.compression import Compression
from registry.web.deadline import Deadline
from registry.web.deprecation import Deprecations, Notices, add_changelog
from registry.web.fast_reads import FastReads, read_routes
from registry.web.limits import BodyRoutes, RequestLimits
from registry.web.metrics import add_metrics
from registry.web.observe import Observe
from registry.web.probes import add_probes
from registry.web.rate_limit import Limiter, RateLimit
from registry.web.redoc import add_redoc
from registry.web.uri_parser import URIParser


def _publish(app, prefix: str, document: dict) -> None:
    """Serve the bundled document at {prefix}/openapi.json and .yaml, without authentication.

    Connexion would serve its fully dereferenced copy instead, in which every schema is inlined
    and code generators can only name models after the places they appear."""
    json_bytes = spec_files.as_json(document)

    @functools.cache
    def yaml_bytes() -> bytes:
        # Built on first request: dumping both documents took ~1.2 s of every start-up.
        return spec_files.as_yaml(document)

    async def openapi_json(request):
        return Response(json_bytes, media_type="application/json")

    async def openapi_yaml(request):
        return Response(yaml_bytes(), media_type="application/yaml")

    app.add_url_rule(f"{prefix}/openapi.json", f"{prefix}openapi_json", openapi_json)
    app.add_url_rule(f"{prefix}/openapi.yaml", f"{prefix}openapi_yaml", openapi_yaml)


def database_options(settings: Settings) -> dict:
    """models.storage.db.init_database's options for the app: its pool and every bound."""
    return {
        "pool_size": settings.db_pool_size,
        "sqlite_busy_timeout_ms": settings.sqlite_busy_timeout_ms,
        "sqlite_wal_limit_bytes": settings.sqlite_wal_limit_mb * 1024 * 1024,
        "connect_timeout_s": settings.db_connect_timeout_s,
        "statement_timeout_ms": settings.db_statement_timeout_ms,
        "lock_timeout_ms": settings.db_lock_timeout_ms,
        "idle_in_transaction_timeout_ms": settings.db_idle_in_transaction_timeout_ms,
    }


def create_app(settings: Settings | None = None) -> connexion.AsyncApp:
    connexion_seam.check()  # before anything is set up: a Connexion it cannot use stops here
    settings = settings or Settings.from_env()
    observe.configure_logging(settings.log_level, settings.log_format, settings.log_flush_ms)
    init_database(settings.database_url, **database_options(settings))
    threads.configure(settings.db_pool_size, queue_timeout_s=settings.db_queue_timeout_ms / 1000)
    connexion_seam.route_integer_path_parameters_as_text()
    connexion_seam.decorate_handlers_once()
    validator_map = {
        "parameter": validation.NamingParameterValidator,
        "body": MediaTypeDict(
            {**VALIDATOR_MAP["body"], "*/*json": validation.body_validator(settings.limits)}
        ),
        "response": MediaTypeDict(
            {
                **VALIDATOR_MAP["response"],
                "application/x-ndjson": connexion_seam.NDJSONResponseBodyValidator,
            }
        ),
    }
    app = connexion.AsyncApp(
        "registry",
        specification_dir=str(MEMBER_SPEC.parent),
        strict_validation=True,
        validate_responses=settings.validate_responses,
        validator_map=validator_map,
        uri_parser_class=URIParser,
        security_map=security.SECURITY_MAP,
        swagger_ui_options=SwaggerUIOptions(swagger_ui_path="/docs", serve_spec=False),
    )
    served, reads = [], []
    for name, path, prefix in (
        ("member_api_v3", MEMBER_SPEC, ""),
        ("admin_api_v3", ADMIN_SPEC, "/admin-api/v3"),
    ):
        document = load_spec(path)
        app.add_api(copy.deepcopy(document), resolver=AuthorizingResolver(settings), name=name)
        _publish(app, prefix, published(document))
        add_redoc(app, prefix, document["info"]["title"])
        served.append((prefix, document))
        if settings.fast_reads:
            reads += read_routes(
                copy.deepcopy(document),
                AuthorizingResolver(settings),
                base_path=prefix,
                validator_map=validator_map,
                security_map=security.SECURITY_MAP,
                strict_validation=True,
                validate_responses=settings.validate_responses,
            )
    error_handlers = errors.handlers(AllowedMethods(served))
    errors.install(app, error_handlers)
    # Every request, answered by the fast reads or by the chain, passes through the pipeline.
    add_probes(app, settings.drain_file)
    add_changelog(app)
    add_metrics(app, settings.metrics, settings.metrics_token)
    limits = {"limits": settings.limits, "bodies": BodyRoutes.of(served, settings.limits)}
    pipeline.install(
        app,
        inner=[(FastReads, {"routes": reads, "error_handlers": error_handlers})] if reads else [],
        options={
            Compression: {"enabled": settings.compression},
            RequestLimits: limits,
            RateLimit: {"limiter": Limiter.from_settings(settings)},
            Deadline: {"seconds": settings.request_deadline_ms / 1000},
            Observe: {"metrics": settings.metrics != "off"},
            Deprecations: {"notices": Notices.of([document for _, document in served])},
        },
    )
    return app
