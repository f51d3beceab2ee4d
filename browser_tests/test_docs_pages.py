"""Swagger UI and Redoc as a person sees them: rendered by a real browser from the running server.

The unit tests in tests/test_docs.py and tests/test_redoc.py check the HTML the server sends;
only a browser shows that the pages actually render every operation of the served spec, load
nothing from the internet, and that "Try it out" with a member key really reaches the API.
The expected operations come from the served spec, so new operations need no change here.
"""

from __future__ import annotations

import json
import re

import pytest

from registry.spec import HTTP_METHODS

RENDER_TIMEOUT_MS = 30_000
# Redoc's sidebar footer always shows the Redocly logo from Redocly's CDN; the page's CSP
# blocks it (img-src 'self' data:), so it never leaves the browser.
CSP_BLOCKED = re.compile(
    r"^Loading the image '(\S+)' violates the following Content Security "
    r"Policy directive"
)

API_PREFIXES = {"member": "", "admin": "/admin-api/v3"}


def spec_operations(server, api: str) -> dict[str, tuple[str, str, str]]:
    """operationId -> (METHOD, path, summary) of the document the server publishes."""
    document = server.get_json(f"{API_PREFIXES[api]}/openapi.json")
    operations = {
        op["operationId"]: (method.upper(), path, op["summary"])
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in HTTP_METHODS
    }
    assert operations, f"the served {api} spec has no operations"
    return operations


def wait_for_count(page, selector: str, count: int) -> None:
    """Wait until the page shows at least `count` matches; the comparison afterwards says
    which are missing when it never does."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(
            "([selector, count]) => document.querySelectorAll(selector).length >= count",
            arg=[selector, count],
            timeout=RENDER_TIMEOUT_MS,
        )
    except PlaywrightTimeout:
        pass  # the assertion that follows names what is missing


def assert_stayed_offline(page) -> None:
    """Nothing but the server was asked for anything (a request the CSP stopped never left the
    browser), and the page logged no error other than that CSP block."""
    leaked = {url: why for url, why in page.foreign_requests.items() if why != "csp"}
    assert not leaked, f"requests left the server: {leaked}"
    blocked = set(page.foreign_requests)
    errors = [e for e in page.errors if not ((m := CSP_BLOCKED.match(e)) and m.group(1) in blocked)]
    assert not errors, errors


def screenshot(page, folder, name: str, full_page: bool = False) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=full_page)


@pytest.mark.parametrize("api", ["member", "admin"])
def test_swagger_ui_lists_every_operation(page, server, artifacts, api):
    expected = spec_operations(server, api)
    page.goto(f"{server.base_url}{API_PREFIXES[api]}/docs/")
    wait_for_count(page, ".opblock", len(expected))
    rendered = page.eval_on_selector_all(
        ".opblock",
        """blocks => blocks.map(b => [
        b.id,
        b.querySelector('.opblock-summary-method').innerText,
        b.querySelector('.opblock-summary-path').getAttribute('data-path'),
        (b.querySelector('.opblock-summary-description') || {innerText: ''}).innerText])""",
    )
    # Swagger UI's block ids are operations-<tag>-<operationId>.
    shown = {
        block_id.rsplit("-", 1)[1]: (method, path, summary.strip())
        for block_id, method, path, summary in rendered
    }
    screenshot(page, artifacts, f"swagger-{api}", full_page=True)
    assert shown == expected
    assert len(rendered) == len(expected), "an operation is listed twice"
    assert_stayed_offline(page)


@pytest.mark.parametrize("api", ["member", "admin"])
def test_redoc_lists_every_operation(page, server, artifacts, api):
    expected = spec_operations(server, api)
    page.goto(f"{server.base_url}{API_PREFIXES[api]}/redoc")
    sections = "[data-section-id*='/operation/']"
    wait_for_count(page, sections, len(expected))
    # The sidebar: one entry per operation, labelled with its summary.
    menu = dict(
        page.eval_on_selector_all(
            "li[data-item-id*='operation/']",
            "items => items.map(i => [i.getAttribute('data-item-id'), "
            "i.getAttribute('aria-label')])",
        )
    )
    # The content: one section per operation, headed by its summary.
    content = dict(
        page.eval_on_selector_all(
            sections,
            """sections => sections.map(s => [
        s.getAttribute('data-section-id'),
        (s.querySelector('h2') || {innerText: ''}).innerText])""",
        )
    )
    screenshot(page, artifacts, f"redoc-{api}")
    summaries = {op_id: summary for op_id, (_, _, summary) in expected.items()}

    # Search runs in Redoc's worker, which the page's CSP must let start.
    first_id, first_summary = next(iter(summaries.items()))
    page.fill("input[aria-label='Search']", first_summary)
    hit = page.locator(f"[data-role='search:results'] li[data-item-id$='operation/{first_id}']")
    hit.first.wait_for(timeout=RENDER_TIMEOUT_MS)
    hit.first.click()
    page.locator(f"[data-section-id$='operation/{first_id}']").first.wait_for()
    screenshot(page, artifacts, f"redoc-{api}-search")

    def by_operation(entries):
        return {
            entry_id.rsplit("operation/", 1)[1]: label.strip()
            for entry_id, label in entries.items()
        }

    assert by_operation(menu) == summaries
    assert by_operation(content) == summaries
    assert_stayed_offline(page)


def test_swagger_ui_try_it_out_with_a_member_key(page, server, artifacts):
    operations = spec_operations(server, "member")
    list_objects = next(
        op_id
        for op_id, (method, path, _) in operations.items()
        if method == "GET" and path.endswith("/objects")
    )
    method, path, _ = operations[list_objects]
    page.goto(f"{server.base_url}/docs/")

    page.click("button.authorize")
    dialog = page.locator(".modal-ux")
    for header, value in (
        ("X-Pharos-API-User", server.member_email),
        ("X-Pharos-API-Key", server.member_key),
    ):
        scheme = dialog.locator(".auth-container", has_text=header)
        scheme.locator("input").fill(value)
        scheme.locator("button.authorize").click()
        scheme.get_by_role("button", name="Logout").wait_for()  # Swagger UI took the value
    screenshot(page, artifacts, "swagger-authorize")
    dialog.locator("button.close-modal").click()

    block = page.locator(
        f".opblock:has(.opblock-summary-path[data-path='{path}']).opblock-{method.lower()}"
    )
    block.locator(".opblock-summary").first.click()
    block.locator("button.try-out__btn").click()
    # Swagger UI pre-fills the filters with the spec's examples; a person clears them to see
    # everything their key may see.
    for row in block.locator("tr[data-param-name]").all():
        if row.get_attribute("data-param-name") not in ("page", "per_page"):
            for field in row.locator("input[type=text]").all():
                field.fill("")
    with page.expect_response(lambda r: r.url.split("?")[0] == server.base_url + path) as sent:
        block.locator("button.execute").click()
    response = sent.value
    request_headers = response.request.all_headers()
    assert request_headers.get("x-pharos-api-user") == server.member_email
    assert response.status == 200, response.text()[:500]

    status = block.locator(".live-responses-table .response .response-col_status")
    status.first.wait_for()
    body = block.locator(".live-responses-table .response-col_description pre").first
    body.scroll_into_view_if_needed()
    screenshot(page, artifacts, "swagger-try-it-out")
    assert status.first.inner_text().strip() == "200"
    shown = json.loads(body.inner_text())
    assert shown == response.json()
    assert shown["count"] > 0 and shown["results"], "the demo member sees no objects"
    assert_stayed_offline(page)
