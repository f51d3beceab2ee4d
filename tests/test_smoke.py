"""The app starts on each backend and answers a list for a demo user."""

from models.intellectual_object import IntellectualObject
from models.storage.db import connection


def test_list_objects_for_member(client, world):
    persona = world["inst_user"]
    response = client.get("/member-api/v3/objects", headers=persona.headers)
    assert response.status_code == 200
    body = response.json()
    with connection():
        expected = (
            IntellectualObject.select()
            .where(IntellectualObject.institution == persona.institution_id)
            .count()
        )
    assert body["count"] == expected >= 80
    assert len(body["results"]) == 20
    assert {r["institution_identifier"] for r in body["results"]} == {"example.edu"}
