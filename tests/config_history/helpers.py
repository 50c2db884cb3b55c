"""Driving the configuration history over REST as its users do."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

ROUTING_KEY = "R0ut1ngK3yR0ut1ngK3yR0ut1ngK3yZZ"  # 32 characters: a PagerDuty key
HEADER_SECRET = "Bearer s3cr3t-t0ken-wxyz"


class History:
    def __init__(self, client: TestClient, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers

    def call(self, method: str, path: str, code: int = 200, **kwargs: Any) -> Any:
        response = self.client.request(method, path, headers=self.headers, **kwargs)
        assert response.status_code == code, response.text
        return response.json()

    def changes(self, **filters: Any) -> list[dict[str, Any]]:
        """Newest first."""
        return self.call("GET", "/v2/config-history", params=filters)["results"]["items"]

    def latest(self, **filters: Any) -> dict[str, Any]:
        return self.changes(**filters)[0]

    def restore(self, change_id: int, code: int = 200) -> dict[str, Any]:
        return self.call("POST", f"/v2/config-history/{change_id}/restore", code=code)
