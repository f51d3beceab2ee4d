"""`Restoration Completed` alerts: a restore work item that reaches `Success` (admin API) tells
the institution's active users where it was restored."""

from __future__ import annotations

import pytest

from models.alert import Alert, AlertUser, AlertWorkItem
from models.generic_file import GenericFile
from models.institution import Institution
from models.restore_alerts import restored_url
from models.storage.db import connection, database
from tests.alert_setup import Places, make_object

ADMIN = "/admin-api/v3"
URL = "https://s3.example.org/aptrust.restore.test/bag.tar"


@pytest.fixture
def places(app):
    with Places() as made:
        yield made


def _restore(client, place, obj, *, file=False) -> dict:
    """A restore requested by the place's user through the member API."""
    if file:
        f = GenericFile.get(GenericFile.intellectual_object == obj.id)
        path = f"/member-api/v3/files/{f.id}/restore"
    else:
        path = f"/member-api/v3/objects/{obj.id}/restore"
    response = client.post(path, headers=place["user"].headers)
    assert response.status_code == 201, response.text
    return response.json()


def _update(client, admin, item, **changes) -> dict:
    body = {
        k: item[k]
        for k in ("bucket", "user", "stage", "status", "bag_date", "date_processed", "note")
    }
    body.update(changes)
    response = client.put(f"{ADMIN}/items/update/{item['id']}", headers=admin, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def _alerts(item_id: int) -> list[dict]:
    with connection():
        alerts = (
            Alert.select()
            .join(AlertWorkItem, on=(AlertWorkItem.alert == Alert.id))
            .where(AlertWorkItem.work_item == item_id)
            .order_by(Alert.id)
        )
        return [
            {
                "type": a.type,
                "subject": a.subject,
                "content": a.content,
                "institution_id": a.institution_id,
                "users": {r.user_id for r in AlertUser.select().where(AlertUser.alert == a.id)},
            }
            for a in alerts
        ]


def test_success_alerts_the_institutions_active_users_once(client, admin, places):
    here = places.place()
    obj = make_object(here, 5000)
    item = _restore(client, here, obj)
    started = _update(client, admin, item, stage="Restoring", status="Started")
    assert _alerts(item["id"]) == []
    _update(
        client, admin, started, stage="Cleanup", status="Success", note=f"Bag restored to {URL}."
    )
    [alert] = _alerts(item["id"])
    assert (alert["type"], alert["subject"], alert["institution_id"]) == (
        "Restoration Completed",
        "Restoration Completed",
        here.id,
    )
    active = {here[p].id for p in ("admin", "admin2", "user", "nobody")}
    assert alert["users"] == active  # not the deactivated admin
    assert f"{obj.identifier} is now at {URL}." in alert["content"]
    assert here["user"].user.name in alert["content"]  # who asked for it

    # Saved again at Success (a note changed): no second alert.
    _update(client, admin, started, stage="Cleanup", status="Success", note="Done")
    assert len(_alerts(item["id"])) == 1
    # Members read it through the member API.
    listed = client.get(
        "/member-api/v3/alerts",
        headers=here["user"].headers,
        params={"type": "Restoration Completed"},
    ).json()
    assert [r["subject"] for r in listed["results"]] == ["Restoration Completed"]


def test_a_note_without_a_url_names_the_restore_bucket(client, admin, places):
    here = places.place()
    item = _restore(client, here, make_object(here, 5000))
    _update(client, admin, item, stage="Cleanup", status="Success", note="Finished")
    [alert] = _alerts(item["id"])
    assert here.institution.restore_bucket in alert["content"]
    assert "named no URL" in alert["content"]


def test_a_file_restore_names_the_file(client, admin, places):
    here = places.place()
    obj = make_object(here, 5000)
    item = _restore(client, here, obj, file=True)
    _update(client, admin, item, stage="Cleanup", status="Success", note=f"File restored to {URL}")
    [alert] = _alerts(item["id"])
    assert f"{obj.identifier}/data/a is now at {URL}." in alert["content"]


@pytest.mark.parametrize("status", ["Failed", "Cancelled", "Started"])
def test_no_alert_unless_success(client, admin, places, status):
    here = places.place()
    item = _restore(client, here, make_object(here, 5000))
    _update(client, admin, item, status=status, note=f"Bag restored to {URL}")
    assert _alerts(item["id"]) == []


def test_glacier_restores_and_other_actions_do_not_alert(client, admin, places):
    """As in the reference: only `Restore Object` and `Restore File` items alert."""
    here = places.place()
    item = _restore(client, here, make_object(here, 5000, storage="Glacier-OR"))
    assert item["action"] == "Glacier Restore"
    _update(client, admin, item, stage="Cleanup", status="Success", note=f"x restored to {URL}")
    assert _alerts(item["id"]) == []
    ingest = client.get(
        f"{ADMIN}/items", headers=admin, params={"institution_id": here.id, "action": "Ingest"}
    ).json()
    _update(client, admin, ingest["results"][0], status="Success", note="Bag restored to x")
    assert _alerts(ingest["results"][0]["id"]) == []


def test_a_restore_item_created_at_success_records_history_without_an_alert(client, admin, places):
    here = places.place()
    obj = make_object(here, 5000)
    response = client.post(
        f"{ADMIN}/items/create/{here.id}",
        headers=admin,
        json={
            "name": "bag.tar",
            "etag": "a" * 32,
            "bucket": "b",
            "user": here["admin"].user.email,
            "action": "Restore Object",
            "stage": "Cleanup",
            "status": "Success",
            "bag_date": "2024-05-01T00:00:00Z",
            "date_processed": "2024-05-01T00:00:00Z",
            "intellectual_object_id": obj.id,
            "note": f"Bag restored to {URL}",
        },
    )
    assert response.status_code == 201, response.text
    assert _alerts(response.json()["id"]) == []


def test_a_spot_test_restore_gets_the_spot_test_alert(client, admin, places):
    here = places.place(frequency=45)
    item = _restore(client, here, make_object(here, 50000))
    with connection(), database.atomic():
        Institution.update(last_spot_restore_work_item_id=item["id"]).where(
            Institution.id == here.id
        ).execute()
    _update(client, admin, item, stage="Cleanup", status="Success", note=f"Bag restored to {URL}.")
    [alert] = _alerts(item["id"])
    assert (alert["type"], alert["subject"]) == (
        "Restoration Completed",
        "Restoration Spot Test Completed",
    )
    assert "every 45 days" in alert["content"] and "0 turns spot tests off" in alert["content"]
    assert URL in alert["content"]


@pytest.mark.parametrize(
    "note, url",
    [
        (f"Bag restored to {URL}.", URL),
        (f"Bag restored to {URL}", URL),
        (f"Bag restored to {URL}. Took 3 minutes.", URL),
        ("Bag restored to .", None),
        ("Bag restored to ", None),
        ("restored to x", None),  # the reference needs the leading space too
        ("Finished", None),
        (None, None),
    ],
)
def test_restored_url(note, url):
    assert restored_url(note) == url
