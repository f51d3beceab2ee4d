"""Redoc pages beside Swagger UI: `{prefix}/redoc` renders the document at `{prefix}/openapi.json`.

The Redoc standalone bundle comes from npm (`redoc` in package.json) and is copied by the build
(`make install`) into `registry/redoc-bundle/`, which git ignores (a folder name that is not a
Python package, so setuptools ships it as plain package data). Nothing comes from a CDN
and the page names no font service, so the docs work where the server has no internet. Without
the bundle the page says how to get it, rather than rendering blank.
"""

from __future__ import annotations

import html
import logging
from pathlib import Path

from starlette.responses import FileResponse, HTMLResponse, RedirectResponse

BUNDLE = Path(__file__).resolve().parents[1] / "redoc-bundle" / "redoc.standalone.js"
BUNDLE_NAME = "redoc.standalone.js"

# What the Redoc page needs and nothing more: its own script, the spec from this server, the
# <style> elements styled-components writes, the search worker Redoc builds from a blob, and
# inline SVG/data images. No inline script: the bundle starts itself from the <redoc> element.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'unsafe-inline'",
        "worker-src blob:",
        "connect-src 'self'",
        "img-src 'self' data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - Redoc</title>
<link rel="icon" href="data:,">
<style>body {{ margin: 0; padding: 0; }}</style>
</head>
<body>
<redoc spec-url="openapi.json"></redoc>
<script src="redoc/{bundle}"></script>
</body>
</html>
"""

MISSING = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Redoc is not installed</title></head>
<body>
<h1>Redoc is not installed on this server</h1>
<p>The Redoc bundle (registry/redoc-bundle/{bundle}) is missing. It is copied from npm's
<code>redoc</code> package by <code>make install</code> (which runs <code>npm ci</code>).</p>
<p>The same document is rendered by Swagger UI at <a href="docs/">docs/</a> and served as
<a href="openapi.json">openapi.json</a>.</p>
</body>
</html>
"""

log = logging.getLogger(__name__)


def add_redoc(app, prefix: str, title: str) -> None:
    """Route `{prefix}/redoc` (the page) and `{prefix}/redoc/redoc.standalone.js` (the bundle).

    The page links the bundle and the spec relatively, so each API's page finds its own spec."""
    page = PAGE.format(title=html.escape(title), bundle=BUNDLE_NAME).encode()
    missing = MISSING.format(bundle=BUNDLE_NAME).encode()
    headers = {"content-security-policy": CONTENT_SECURITY_POLICY}
    if not BUNDLE.is_file():
        log.warning(
            "Redoc bundle %s is missing: %s/redoc explains how to install it", BUNDLE, prefix
        )

    async def redoc_page(request):
        if not BUNDLE.is_file():
            return HTMLResponse(missing, status_code=503, headers=headers)
        return HTMLResponse(page, headers=headers)

    async def redoc_bundle(request):
        if not BUNDLE.is_file():
            return HTMLResponse(missing, status_code=404, headers=headers)
        return FileResponse(BUNDLE, media_type="text/javascript")

    async def redoc_slash(request):
        return RedirectResponse(f"{prefix}/redoc", status_code=308)

    app.add_url_rule(f"{prefix}/redoc", f"{prefix}redoc_page", redoc_page)
    app.add_url_rule(f"{prefix}/redoc/", f"{prefix}redoc_slash", redoc_slash)
    app.add_url_rule(f"{prefix}/redoc/{BUNDLE_NAME}", f"{prefix}redoc_bundle", redoc_bundle)
