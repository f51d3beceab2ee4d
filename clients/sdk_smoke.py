"""Smoke test of the Python SDK packages (make sdk), run by a clean virtualenv that has only
the two wheels (and what they depend on) installed: the installed packages, not the build tree.

For each API: the package's version is the spec's, a list and a show answer typed models, a
write goes through, and an error comes back as the package's typed exception."""

from __future__ import annotations

import os
import sys

import registry_admin_client as A
import registry_member_client as M

URL = os.environ["REGISTRY_URL"]
VERSION = os.environ["SDK_VERSION"]


def client(package, user: str, key: str):
    host = f"{URL}/admin-api/v3" if package is A else URL  # the admin spec's paths are relative
    config = package.Configuration(host=host, api_key={"apiUser": user, "apiKey": key})
    return package.ApiClient(config)


def member() -> None:
    assert M.__version__ == VERSION, (M.__version__, VERSION)
    api = client(M, os.environ["REGISTRY_MEMBER_USER"], os.environ["REGISTRY_MEMBER_KEY"])
    objects = M.IntellectualObjectsApi(api)
    page = objects.list_objects(per_page=2, sort=["identifier__asc"])
    assert isinstance(page, M.IntellectualObjectViewList) and len(page.results) == 2
    shown = objects.show_object(str(page.results[0].id))
    assert isinstance(shown, M.IntellectualObjectView) and shown.id == page.results[0].id
    marked = M.AlertsApi(api).mark_all_alerts_read()
    assert isinstance(marked, M.AlertReadResult)
    try:
        objects.show_object("example.edu/no-such-bag")
    except M.exceptions.NotFoundException as missing:
        assert missing.status == 404
    else:
        raise AssertionError("a missing object did not raise NotFoundException")


def admin() -> None:
    assert A.__version__ == VERSION, (A.__version__, VERSION)
    api = client(A, os.environ["REGISTRY_ADMIN_USER"], os.environ["REGISTRY_ADMIN_KEY"])
    institutions = A.InstitutionsApi(api)
    page = institutions.list_institutions(per_page=3)
    assert isinstance(page, A.InstitutionViewList) and page.results
    shown = institutions.show_institution(str(page.results[0].id))
    assert shown.id == page.results[0].id
    try:
        institutions.show_institution("no-such-institution.edu")
    except A.exceptions.NotFoundException as missing:
        assert missing.status == 404
    else:
        raise AssertionError("a missing institution did not raise NotFoundException")
    try:
        A.InstitutionsApi(client(A, "nobody@example.edu", "rgk_wrong")).list_institutions()
    except A.exceptions.UnauthorizedException as refused:
        assert refused.status == 401
    else:
        raise AssertionError("a wrong key did not raise UnauthorizedException")


if __name__ == "__main__":
    member()
    admin()
    print(f"python sdk {VERSION}: member and admin packages ok ({sys.executable})")
