"""Redoc renders each API's spec beside Swagger UI, from a bundle the server itself serves.

Like Swagger UI, the page needs no key and no internet: the bundle is npm's (vendored by
`make install`), the spec is the one the server publishes, and the page names no CDN or font
service. Whether the page then renders every operation is the browser test's job
(browser_tests/).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urljoin

import pytest

import registry.web.redoc

ASSET = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']""")
ABSOLUTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.I)
CDN_HINTS = ("unpkg", "cdn", "jsdelivr", "cloudflare", "googleapis", "fonts.", "redocly")
PACKAGE_LOCK = Path(__file__).resolve().parent.parent / "package-lock.json"

PAGES = {"/redoc": "/openapi.json", "/admin-api/v3/redoc": "/admin-api/v3/openapi.json"}


@pytest.mark.parametrize("path", PAGES)
def test_redoc_page_needs_no_credentials(client, path):
    response = client.get(path)
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].split(";")[0] == "text/html"
    assert response.headers["cache-control"] == "private, no-cache"  # a tagged GET
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", PAGES)
def test_redoc_page_is_locked_down_to_what_redoc_needs(client, path):
    policy = client.get(path).headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"  # no inline script, no eval, no CDN
    assert directives["worker-src"] == "blob:"  # Redoc's search index runs in a blob worker
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"


@pytest.mark.parametrize("path,spec", PAGES.items())
def test_redoc_page_uses_only_local_assets_and_its_own_spec(client, path, spec):
    html = client.get(path).text
    assert not [hint for hint in CDN_HINTS if hint in html.lower()]
    assets = ASSET.findall(html)
    scripts = [a for a in assets if a.endswith(".js")]
    assert scripts, assets
    for asset in assets:
        assert not ABSOLUTE.match(asset), asset
        if asset.startswith("data:"):
            continue
        url = urljoin(path, asset)
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.content, url
        if asset in scripts:
            assert response.headers["content-type"].split(";")[0] == "text/javascript"
    spec_urls = [urljoin(path, a) for a in assets if a.endswith("openapi.json")]
    assert spec_urls == [spec]
    assert client.get(spec_urls[0]).json() == client.get(spec).json()


def test_served_bundle_is_the_redoc_release_package_lock_pins(client):
    """A stale copy left from an older `npm ci` would not match the lock file."""
    lock = json.loads(PACKAGE_LOCK.read_text())
    version = lock["packages"]["node_modules/redoc"]["version"]
    bundle = client.get("/redoc/redoc.standalone.js")
    assert bundle.status_code == 200
    assert f'"{version}"' in bundle.text
    assert client.get("/admin-api/v3/redoc/redoc.standalone.js").content == bundle.content


@pytest.mark.parametrize("path", PAGES)
def test_trailing_slash_redirects_to_the_page(client, path):
    response = client.get(path + "/", follow_redirects=False)
    assert response.status_code == 308
    assert response.headers["location"] == path


@pytest.mark.parametrize("path", PAGES)
def test_missing_bundle_answers_a_page_that_says_how_to_install_it(
    client, monkeypatch, tmp_path, path
):
    monkeypatch.setattr(registry.web.redoc, "BUNDLE", tmp_path / "redoc.standalone.js")
    response = client.get(path)
    assert response.status_code == 503
    assert response.headers["content-type"].split(";")[0] == "text/html"
    assert "make install" in response.text
    assert client.get(f"{path}/redoc.standalone.js").status_code == 404
