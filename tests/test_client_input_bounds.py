"""No client input gives a 5xx (issue 15). Row ids, offsets and limits are checked against
what the database can hold at the edge, on both backends: an id no row can have is a 404
(it names nothing), a number out of range in a query is a 400 naming the parameter.
Impossible dates, nesting and signatures are 4xx too. tests/fuzz runs schemathesis over
every documented route; these are the inputs that once gave a 500, and the rules behind
them applied to every route the schema documents."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from medic.ops.fields import MAX_ID
from tests.conftest import auth

HUGE = "5204974032481196965888"  # beyond any 64-bit integer
ARABIC_INDIC_SECONDS = "\u0661\u0667" + "\u0660" * 8  # 1700000000 in Arabic-Indic digits
IMPOSSIBLE_IDS = [HUGE, str(MAX_ID + 1), str(2**63), "0", "-1", f"-{HUGE}"]


def _operations(client: TestClient) -> list[tuple[str, str, dict[str, Any]]]:
    spec = client.get("/openapi.json").json()
    return [
        (method, path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    ]


@pytest.fixture
def headers_for(admin_headers: dict[str, str], make_key: Any) -> Any:
    """The key a route is meant for: an agent's routes take only a key of the `agent`
    scope bound to a host (no other key reaches them: tests/agent), the rest an admin's."""
    agent_headers = auth(make_key("agent", host="probe-1"))

    def choose(path: str) -> dict[str, str]:
        return agent_headers if path.startswith("/v2/agent/") else admin_headers

    return choose


def _integer_parameters(operation: dict[str, Any], where: str) -> list[str]:
    def is_integer(schema: dict[str, Any]) -> bool:
        kinds = [schema, *schema.get("anyOf", [])]
        return any(kind.get("type") == "integer" for kind in kinds)

    return [
        parameter["name"]
        for parameter in operation.get("parameters", [])
        if parameter["in"] == where and is_integer(parameter["schema"])
    ]


def _fill(path: str, operation: dict[str, Any], **values: str) -> str:
    """The path with every parameter filled in: `values` by name, else 1 for a number and
    a plain word for text."""
    numbers = _integer_parameters(operation, "path")
    for name in [part[1:-1] for part in path.split("/") if part.startswith("{")]:
        value = values.get(name, "1" if name in numbers else "nightly-backup")
        path = path.replace(f"{{{name}}}", value)
    return path


def test_the_known_5xx_inputs_are_4xx(
    client: TestClient, admin_headers: dict[str, str], register: Any
) -> None:
    register()
    answers = {
        "alert": client.get(f"/v2/alerts/{HUGE}", headers=admin_headers),
        "delete": client.delete(f"/v2/services/{HUGE}", headers=admin_headers),
        "offset": client.get(f"/v2/services?offset={HUGE}", headers=admin_headers),
        "filter": client.get(f"/v2/alerts?service_id={HUGE}", headers=admin_headers),
        "runs": client.get(f"/v2/services/{HUGE}/runs", headers=admin_headers),
        "history": client.get(f"/v2/services/{HUGE}/history", headers=admin_headers),
        "negative filter": client.get(f"/v2/notifications?alert_id=-{HUGE}", headers=admin_headers),
    }
    assert {what: answer.status_code for what, answer in answers.items()} == {
        "alert": 404,
        "delete": 404,
        "offset": 400,
        "filter": 400,
        "runs": 404,
        "history": 404,
        "negative filter": 400,
    }
    assert "offset" in answers["offset"].json()["message"]
    assert "service_id" in answers["filter"].json()["message"]


def test_an_id_no_row_can_have_is_not_found_on_every_route(
    client: TestClient, headers_for: Any
) -> None:
    """Every integer path parameter the schema documents, with every method."""
    answers = {}
    for method, path, operation in _operations(client):
        for name in _integer_parameters(operation, "path"):
            for value in IMPOSSIBLE_IDS:
                url = _fill(path, operation, **{name: value})
                response = client.request(method, url, headers=headers_for(path), json={})
                answers[(method, url)] = response.status_code
    assert answers, "the schema documents integer path ids"
    assert {key: code for key, code in answers.items() if code != 404} == {}


def test_a_malformed_id_is_a_bad_request(client: TestClient, admin_headers: dict[str, str]) -> None:
    response = client.get("/v2/alerts/12abc", headers=admin_headers)
    assert response.status_code == 400
    assert "alert_id" in response.json()["message"]


# v1's maxCount keeps the original Medic's behaviour: more than 250 means 250.
CLAMPED = {"maxCount"}


@pytest.mark.parametrize("value", [HUGE, str(2**63), "-1", f"-{HUGE}"])
def test_every_integer_query_parameter_is_bounded(
    client: TestClient, headers_for: Any, value: str
) -> None:
    """offset, limit, id filters and counts: out of range is a 400 naming the parameter."""
    answers = {}
    for method, path, operation in _operations(client):
        for name in _integer_parameters(operation, "query"):
            url = f"{_fill(path, operation)}?{name}={value}"
            response = client.request(method, url, headers=headers_for(path))
            # A HEAD answer has no body to name the parameter in.
            named = name in response.text or (method == "head" and not response.text)
            answers[(method, path, name)] = (response.status_code, named)
    assert answers, "the schema documents integer query parameters"
    expected = {
        key: (200, False) if key[2] in CLAMPED and not value.startswith("-") else (400, True)
        for key in answers
    }
    assert {key: answer for key, answer in answers.items() if answer != expected[key]} == {}


def test_a_page_past_the_last_row_is_empty_not_an_error(
    client: TestClient, admin_headers: dict[str, str], register: Any
) -> None:
    register()
    response = client.get(f"/v2/services?offset={MAX_ID}", headers=admin_headers)
    assert response.status_code == 200
    assert response.json()["results"]["items"] == []


FAR = "9999-12-31T23:30:00-14:00"  # the year 10000 in UTC
EARLY = "0001-01-01T00:30:00+14:00"  # the year 0 in UTC


@pytest.mark.parametrize("instant", [FAR, EARLY])
@pytest.mark.parametrize("field", ["starts_at", "ends_at"])
def test_a_window_beyond_the_calendar_in_utc_is_refused_naming_the_field(
    client: TestClient, admin_headers: dict[str, str], field: str, instant: str
) -> None:
    body = {"name": "far", "starts_at": "2030-01-01T00:00:00Z", "ends_at": "2030-01-02T00:00:00Z"}
    body[field] = instant
    response = client.post("/v2/maintenance-windows", json=body, headers=admin_headers)
    assert response.status_code == 400
    assert response.json()["message"].startswith(field)


def test_a_window_starting_at_the_calendar_edge_cannot_run_past_it(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    body = {"name": "edge", "starts_at": "9999-12-31T00:00:00Z", "duration": "1h"}
    response = client.post("/v2/maintenance-windows", json=body, headers=admin_headers)
    assert response.status_code == 400
    assert "starts_at" in response.json()["message"]


def test_a_routing_preview_beyond_the_calendar_is_refused(
    client: TestClient, admin_headers: dict[str, str], register: Any
) -> None:
    service = register()
    url = f"/v2/services/{service['service_id']}/routing"
    response = client.get(url, params={"at": FAR}, headers=admin_headers)
    assert response.status_code == 400
    assert response.json()["message"].startswith("at")


@pytest.mark.parametrize("route", ["/v2/heartbeats", "/v2/audit", "/v2/audit/export"])
@pytest.mark.parametrize("bound", ["since", "until"])
def test_a_search_bound_beyond_the_calendar_is_as_good_as_its_end(
    client: TestClient, admin_headers: dict[str, str], route: str, bound: str
) -> None:
    for instant in (FAR, EARLY, "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"):
        response = client.get(route, params={bound: instant}, headers=admin_headers)
        assert response.status_code == 200, (instant, response.text)


def test_a_heartbeat_search_bound_needs_an_offset(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    response = client.get("/v2/heartbeats?since=2030-01-01T00:00:00", headers=admin_headers)
    assert response.status_code == 400
    assert response.json()["message"].startswith("since")


@pytest.mark.parametrize("route", ["/v2/playbooks", "/v2/services", "/v2/maintenance-windows"])
def test_deeply_nested_json_is_a_bad_request(
    client: TestClient, admin_headers: dict[str, str], route: str
) -> None:
    nested = '{"steps": ' + "[" * 100_000 + "]" * 100_000 + "}"
    headers = {**admin_headers, "Content-Type": "application/json"}
    response = client.post(route, content=nested, headers=headers)
    assert response.status_code == 400
    assert response.json()["success"] is False


def test_deeply_nested_yaml_is_a_bad_request_naming_the_line(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    yaml = "name: deep\nsteps: " + "[" * 10_000 + "]" * 10_000 + "\n"
    headers = {**admin_headers, "Content-Type": "application/yaml"}
    response = client.post("/v2/playbooks", content=yaml, headers=headers)
    assert response.status_code == 400
    assert "nested" in response.json()["message"]


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Playbook hooks on, so a hook's signature headers are read at all."""
    return {"medic_playbook_hook_secret": "hook-secret"}


@pytest.mark.parametrize("timestamp", ["1" * 5000, ARABIC_INDIC_SECONDS, "1700000000\u00b2"])
def test_a_hook_timestamp_that_is_not_ascii_seconds_is_unauthorized(
    client: TestClient, timestamp: str
) -> None:
    headers = {"X-Medic-Timestamp": timestamp, "X-Medic-Signature": "sha256=00"}
    encoded = {k: v.encode() for k, v in headers.items()}
    response = client.post("/v2/hooks/playbooks/anything", content=b"{}", headers=encoded)
    assert response.status_code == 401


def test_a_v1_body_with_an_impossible_id_is_refused(
    client: TestClient, admin_headers: dict[str, str], register: Any
) -> None:
    register()
    response = client.post(
        "/v1/heartbeat",
        json={"heartbeat_name": "nightly-backup", "status": "UP", "service_id": int(HUGE)},
        headers=admin_headers,
    )
    assert 400 <= response.status_code < 500


@pytest.mark.parametrize("exit_status", ["\u00b2", "\u0661", "9" * 5000, "256", "-1"])
def test_a_ping_exit_status_that_is_not_0_to_255_in_ascii_is_a_bad_request(
    client: TestClient, register: Any, exit_status: str
) -> None:
    service = register()
    response = client.get(f"/ping/{service['uuid']}/{exit_status}")
    assert response.status_code == 400
    assert "exit status" in response.text
