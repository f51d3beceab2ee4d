"""The app starts on each backend and answers a list and a show for a demo user."""


def test_list_objects_for_member(client, world):
    response = client.get("/member-api/v3/objects", headers=world["inst_user"].headers)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 80
    assert len(body["results"]) == 20
    assert {r["institution_identifier"] for r in body["results"]} == {"example.edu"}
