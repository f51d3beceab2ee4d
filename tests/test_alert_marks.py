"""Members mark their own alerts read and unread (member API), and list them by read state.

The reference offers the marks in its web UI only; these are the same operations under the
member API. Only the caller's own copies change; any other id fails, untouched, with the same
answer whether the alert exists or not.
"""

from __future__ import annotations

import datetime as dt

import pytest

from models.alert import Alert, AlertUser
from models.storage.base import utcnow
from models.storage.db import connection, database
from tests.alert_setup import Places

BASE = "/member-api/v3/alerts"
EARLIER = dt.datetime(2024, 3, 1, 12, 0, 0)


@pytest.fixture
def places(app):
    with Places() as made:
        yield made


def _alert(place, recipients, *, read_at=None, institution=None) -> int:
    """An alert of `place` (or of `institution`) to these people; each copy read at `read_at`."""
    with connection(), database.atomic():
        alert = Alert.create(
            institution=institution or place.id,
            type="Deletion Requested",
            subject="s",
            content="c",
            created_at=utcnow(),
        )
        for person in recipients:
            AlertUser.create(alert=alert, user=person.id, sent_at=utcnow(), read_at=read_at)
    return alert.id


def _read_at(alert_id: int, person) -> dt.datetime | None:
    with connection():
        return AlertUser.get((AlertUser.alert == alert_id) & (AlertUser.user == person.id)).read_at


def test_mark_read_and_unread_touch_only_the_callers_own_copies(client, places):
    here, there = places.place(), places.place()
    me, colleague = here["user"], here["admin"]
    shared = _alert(here, [me, colleague])
    mine_read = _alert(here, [me], read_at=EARLIER)
    colleagues = _alert(here, [colleague])
    foreign = _alert(there, [there["user"]])
    missing = 2**62

    response = client.put(
        f"{BASE}/mark_as_read",
        headers=me.headers,
        json={"id__in": [shared, colleagues, mine_read, foreign, missing, shared]},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["succeeded"] == [shared, mine_read]
    assert body["failed"] == [colleagues, foreign, missing]
    assert body["error"] == (
        f"No alert addressed to you has the id(s) {colleagues}, {foreign}, {missing}"
    )
    assert _read_at(shared, me) is not None
    assert _read_at(mine_read, me) == EARLIER  # the first reading is kept
    assert _read_at(shared, colleague) is None  # the colleague's copy of the same alert
    assert _read_at(colleagues, colleague) is None
    assert _read_at(foreign, there["user"]) is None

    response = client.put(
        f"{BASE}/mark_as_unread", headers=me.headers, json={"id__in": [mine_read, foreign]}
    )
    assert response.status_code == 200
    assert response.json() == {
        "succeeded": [mine_read],
        "failed": [foreign],
        "error": f"No alert addressed to you has the id(s) {foreign}",
    }
    assert _read_at(mine_read, me) is None
    assert _read_at(foreign, there["user"]) is None


def test_another_persons_alert_and_a_missing_one_fail_alike(client, places):
    """No existence leak: the answer for an alert of someone else equals that for no alert."""
    here, there = places.place(), places.place()
    foreign = _alert(there, [there["admin"]])
    missing = 2**62
    answers = [
        client.put(
            f"{BASE}/mark_as_read", headers=here["admin"].headers, json={"id__in": [alert_id]}
        ).json()
        for alert_id in (foreign, missing)
    ]
    assert [a["succeeded"] for a in answers] == [[], []]
    assert [
        a["error"].replace(str(i), "N") for a, i in zip(answers, (foreign, missing), strict=True)
    ] == ["No alert addressed to you has the id(s) N"] * 2


def test_a_members_copy_of_another_institutions_alert_is_not_theirs(client, places):
    """Members see only their institution's alerts (list_alerts); the marks follow the same
    scope, even for a copy addressed to them."""
    here, there = places.place(), places.place()
    odd = _alert(here, [here["user"]], institution=there.id)
    response = client.put(
        f"{BASE}/mark_as_read", headers=here["user"].headers, json={"id__in": [odd]}
    )
    assert response.json()["failed"] == [odd]
    assert _read_at(odd, here["user"]) is None


def test_a_sysadmin_marks_their_own_copies_only(client, world, places):
    here = places.place()
    sysadmin = world["sysadmin"]
    theirs = _alert(here, [here["admin"]])
    with connection(), database.atomic():
        AlertUser.create(alert=theirs, user=sysadmin.user_id, sent_at=utcnow())
    response = client.put(
        f"{BASE}/mark_as_read", headers=sysadmin.headers, json={"id__in": [theirs]}
    )
    assert response.json()["succeeded"] == [theirs]
    assert _read_at(theirs, here["admin"]) is None
    with connection(), database.atomic():
        AlertUser.delete().where(
            (AlertUser.alert == theirs) & (AlertUser.user == sysadmin.user_id)
        ).execute()


def test_mark_all_as_read(client, places):
    here = places.place()
    me = here["admin"]
    unread = [_alert(here, [me, here["user"]]), _alert(here, [me])]
    already = _alert(here, [me], read_at=EARLIER)
    response = client.post(f"{BASE}/mark_all_as_read", headers=me.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"succeeded": sorted(unread), "failed": [], "error": None}
    assert all(_read_at(a, me) is not None for a in unread)
    assert _read_at(already, me) == EARLIER
    assert _read_at(unread[0], here["user"]) is None
    again = client.post(f"{BASE}/mark_all_as_read", headers=me.headers)
    assert again.json() == {"succeeded": [], "failed": [], "error": None}


def test_list_alerts_by_read_state(client, places):
    here = places.place()
    me = here["user"]
    unread = _alert(here, [me])
    early = _alert(here, [me], read_at=EARLIER)
    late = _alert(here, [me], read_at=EARLIER + dt.timedelta(days=30))

    def ids(**params):
        response = client.get(BASE, headers=me.headers, params=params)
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["results"]]

    assert ids(read_at__is_null="true") == [unread]
    assert ids(read_at__is_null="false", sort="read_at__asc") == [early, late]
    assert ids(read_at__not_null="true", sort="read_at__desc") == [late, early]
    assert ids(read_at__not_null="false") == [unread]
    assert ids(read_at__gteq="2024-03-02T00:00:00Z") == [late]
    assert ids(read_at__lteq="2024-03-02T00:00:00Z") == [early]
    assert ids(sort="read_at__asc") == [early, late, unread]  # unread (null) last
    client.put(f"{BASE}/mark_as_read", headers=me.headers, json={"id__in": [unread]})
    assert ids(read_at__is_null="true") == []


@pytest.mark.parametrize(
    "body, name",
    [
        ({"id__in": []}, "id__in"),
        ({}, "id__in"),
        ({"id__in": [0]}, "id__in"),
        ({"id__in": ["1"]}, "id__in"),
        ({"id__in": [1], "user_id": 3}, "user_id"),
        ({"id__in": list(range(1, 1002))}, "id__in"),
    ],
)
@pytest.mark.parametrize("verb", ["mark_as_read", "mark_as_unread"])
def test_bad_bodies_are_400_naming_the_field(client, world, body, name, verb):
    response = client.put(f"{BASE}/{verb}", headers=world["inst_user"].headers, json=body)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert name in response.text


@pytest.mark.parametrize(
    "method, path",
    [("PUT", "mark_as_read"), ("PUT", "mark_as_unread"), ("POST", "mark_all_as_read")],
)
def test_roles_and_credentials(client, world, method, path):
    body = {"id__in": [1]} if method == "PUT" else None
    assert client.request(method, f"{BASE}/{path}", json=body).status_code == 401
    for persona, status in (
        ("no_role", 403),
        ("disabled", 401),
        ("inst_admin", 200),
        ("sysadmin", 200),
    ):
        response = client.request(
            method, f"{BASE}/{path}", json=body, headers=world[persona].headers
        )
        assert response.status_code == status, (persona, response.text)
