"""The spec and its documentation are public, complete, and work without the internet.

A member reads the docs before it has a key, so they must not need one; an operator may run
Registry where no CDN is reachable, so the docs page must load only assets the server serves.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

import pytest
import yaml

from registry.spec import load_spec, operation_ids

ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")
SPEC_URL = re.compile(r"""\burl\s*:\s*["']([^"']+)["']""")
CDN_HINTS = ("unpkg", "cdn", "jsdelivr", "cloudflare", "googleapis")


@pytest.mark.parametrize(
    "path,content_type",
    [
        ("/openapi.json", "application/json"),
        ("/openapi.yaml", "application/yaml"),
        ("/docs/", "text/html"),
    ],
)
def test_docs_need_no_credentials(client, path, content_type):
    response = client.get(path)
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].split(";")[0] == content_type


@pytest.mark.parametrize("path,parse", [("/openapi.json", None), ("/openapi.yaml", yaml.safe_load)])
def test_served_spec_has_every_operation_of_the_spec_file(client, path, parse):
    response = client.get(path)
    document = parse(response.text) if parse else response.json()
    expected = set(operation_ids(load_spec()))
    assert expected  # the spec file itself was read
    assert set(operation_ids(document)) == expected


def test_docs_page_uses_only_local_assets(client):
    html = client.get("/docs/").text
    lowered = html.lower()
    assert not [hint for hint in CDN_HINTS if hint in lowered]
    assets = ASSET.findall(html) + SPEC_URL.findall(html)
    assert any(a.endswith(".js") for a in assets), assets
    for asset in assets:
        assert not re.match(r"^(?:[a-z][a-z0-9+.-]*:)?//", asset, re.I), asset
        url = urljoin("/docs/", asset)
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.content, url
