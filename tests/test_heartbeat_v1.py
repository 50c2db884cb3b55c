"""v1 heartbeat ingest: a 201 means the beat is committed with the service's deadline."""

from fastapi.testclient import TestClient
from sqlmodel import select

from medic.models import Service
from medic.process import MedicProcess


def test_heartbeat_201_means_committed_with_deadline(
    client: TestClient, admin_headers, register, medic: MedicProcess
) -> None:
    register("Nightly-Backup", alert_interval=10)
    response = client.post(
        "/heartbeat",
        json={"heartbeat_name": "nightly-backup", "status": "UP"},
        headers=admin_headers,
    )
    assert response.status_code == 201
    assert response.json() == {
        "success": True,
        "message": "Heartbeat Posted Successfully.",
        "results": "",
    }
    with medic.db.session() as session:
        service = session.exec(select(Service)).one()
    assert service.last_heartbeat_at is not None
    assert (service.next_due_at - service.last_heartbeat_at).total_seconds() == 600
    assert service.state == "up"
