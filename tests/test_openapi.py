"""/openapi.json documents what every route answers, so clients can be generated from it
and answers checked against it."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def _json_answers(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, answer["content"]["application/json"]["schema"])
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        for code, answer in operation.get("responses", {}).items()
        if code.startswith("2") and "application/json" in answer.get("content", {})
    ]


def test_every_json_answer_has_a_documented_shape(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    answers = _json_answers(spec)
    untyped = [
        f"{method.upper()} {path}"
        for method, path, schema in answers
        if schema == {} or schema.get("$ref", "").endswith("/Envelope")
    ]
    assert answers and untyped == []


def test_a_service_answer_names_its_fields(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    [(_, _, schema)] = [
        a for a in _json_answers(spec) if a[0] == "get" and a[1] == "/v2/services/{service_id}"
    ]
    envelope = schemas[schema["$ref"].rsplit("/", 1)[1]]
    view = schemas[envelope["properties"]["results"]["$ref"].rsplit("/", 1)[1]]
    assert {"heartbeat_name", "state", "next_due_at", "muted_until"} <= set(view["properties"])


def test_the_execution_list_documents_its_filters_and_items(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    listing = spec["paths"]["/v2/executions"]["get"]
    names = {parameter["name"] for parameter in listing["parameters"]}
    assert {"playbook", "service", "state", "requester", "since", "until"} <= names
    assert {"limit", "offset"} <= names
    item = spec["components"]["schemas"]["ExecutionSummary"]
    assert {"execution_id", "playbook", "state", "requested_by"} <= set(item["properties"])
    step = spec["components"]["schemas"]["StepView"]
    assert {"output", "output_truncated"} <= set(step["properties"])
