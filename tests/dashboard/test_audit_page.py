"""The audit log page (admin): filters by actor, action, target, front door, outcome
and period; exports as JSON and CSV in which no cell is a spreadsheet formula; hostile
values shown as text; a non-admin key sees no link to it and is refused."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from medic.process import MedicProcess
from tests.conftest import auth
from tests.dashboard.conftest import Browser

FORMULAS = ('=HYPERLINK("evil.example","x")', "+1+1", "-2+3", "@SUM(A1)")
HOSTILE = "<img src=x onerror=alert(1)>"


def _mute(client: TestClient, key: str, service_id: int, reason: str) -> None:
    response = client.post(
        f"/v2/services/{service_id}/mute",
        json={"duration": "1h", "reason": reason},
        headers=auth(key),
    )
    assert response.status_code == 200, response.text


def test_the_log_filters_by_actor_action_target_door_and_period(
    signed_in: Callable[..., Browser],
    client: TestClient,
    register: Callable[..., dict[str, Any]],
    make_key: Callable[..., str],
) -> None:
    service = register("nightly-backup")
    _mute(client, make_key("write", name=HOSTILE), service["service_id"], "<i>x</i>")
    browser = signed_in("admin", name="auditor")
    page = browser.get("/dashboard/audit")
    assert page.status_code == 200
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.text and HOSTILE not in page.text
    assert "<i>x</i>" not in page.text
    row = "<code>service.mute</code>"
    for query, shown in [
        ({"actor": HOSTILE}, True),
        ({"actor": "auditor"}, False),
        ({"action": "service.mute"}, True),
        ({"action": "service.unmute"}, False),
        ({"target_type": "service", "target_id": str(service["service_id"])}, True),
        ({"target_id": "987654"}, False),
        ({"front_door": "api"}, True),
        ({"front_door": "slack"}, False),
        ({"outcome": "refused"}, False),
        ({"period": "1h"}, True),
        ({"until": "2000-01-01T00:00"}, False),
    ]:
        found = browser.get("/dashboard/audit", params=query)
        assert found.status_code == 200, (query, found.text)
        assert (row in found.text) is shown, query
    bad = browser.get("/dashboard/audit", params={"front_door": "fax"})
    assert bad.status_code == 400 and "front_door" in bad.text


def test_the_csv_export_never_holds_a_formula(
    signed_in: Callable[..., Browser],
    client: TestClient,
    register: Callable[..., dict[str, Any]],
    make_key: Callable[..., str],
    medic: MedicProcess,
) -> None:
    service = register("nightly-backup")
    for formula in FORMULAS:
        _mute(client, make_key("write", name=formula), service["service_id"], formula)
    browser = signed_in("admin")
    page = browser.get("/dashboard/audit", params={"action": "service.mute"})
    link = "/dashboard/audit/export?action=service.mute&amp;format=csv"
    assert link in page.text

    exported = browser.get(
        "/dashboard/audit/export", params={"action": "service.mute", "format": "csv"}
    )
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.headers["content-disposition"] == 'attachment; filename="medic-audit.csv"'
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [row["actor"] for row in rows] == ["'" + formula for formula in FORMULAS]
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value

    as_json = browser.get(
        "/dashboard/audit/export", params={"action": "service.mute", "format": "json"}
    )
    assert as_json.headers["content-type"].startswith("application/json")
    assert [entry["actor"] for entry in json.loads(as_json.text)] == list(FORMULAS)  # data, as is
    assert browser.get("/dashboard/audit/export", params={"format": "xlsx"}).status_code == 400


def test_only_an_admin_reads_the_log(
    signed_in: Callable[..., Browser], medic: MedicProcess
) -> None:
    browser = signed_in("write", name="operator")
    assert 'href="/dashboard/audit"' not in browser.get("/dashboard/services").text
    assert browser.get("/dashboard/audit").status_code == 403
    assert browser.get("/dashboard/audit/export", params={"format": "csv"}).status_code == 403
    browser.client.cookies.clear()
    assert browser.get("/dashboard/audit/export").status_code == 303  # no session: sign in
