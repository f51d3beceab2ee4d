"""Registry: the composition root (app.py), settings, the CLI; HTTP plumbing in registry.web,
the OpenAPI documents in registry.spec, demo and fixture seeding in registry.seed."""

import warnings

# Connexion imports Starlette's TestClient at import time, and Starlette then warns that httpx2
# (not yet published) should replace httpx. Nothing of ours uses the test client in production.
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
