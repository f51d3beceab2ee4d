"""Registry's wiring: settings, the app factory, security, authorization, errors and the CLI."""
import warnings

# Connexion imports Starlette's TestClient at import time, and Starlette then warns that httpx2
# (not yet published) should replace httpx. Nothing of ours uses the test client in production.
warnings.filterwarnings(
    "ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
