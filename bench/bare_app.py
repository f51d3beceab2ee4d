"""A bare Connexion app over Registry's spec files: the cold-start yardstick.

    gunicorn 'bench.bare_app:create_app()' -k uvicorn_worker.UvicornWorker --preload

Connexion loads the same two spec files (resolving their `$ref`s between files itself) and
routes every operation to one stub: what remains is the price of Connexion and of the spec,
which Registry's own start-up is compared with (bench.coldstart).
"""

from __future__ import annotations

import connexion
from connexion.resolver import Resolver

from registry.spec import ADMIN_SPEC, MEMBER_SPEC


async def _stub(*args, **kwargs):
    return {}


def create_app() -> connexion.AsyncApp:
    app = connexion.AsyncApp("bare", specification_dir=str(MEMBER_SPEC.parent))
    for name, path in (("member", MEMBER_SPEC), ("admin", ADMIN_SPEC)):
        app.add_api(path.name, resolver=Resolver(function_resolver=lambda _: _stub), name=name)
    return app
