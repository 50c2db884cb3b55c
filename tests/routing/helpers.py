"""Helpers for the routing tests: the v2 API as an admin, and common documents."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


class Api:
    """The v2 API with an admin key; each call states the status it expects."""

    def __init__(self, client: TestClient, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers

    def call(self, method: str, path: str, expect: int, **kwargs: Any) -> Any:
        response = self.client.request(method, path, headers=self.headers, **kwargs)
        assert response.status_code == expect, response.text
        body = response.json()
        assert body["success"] is (expect < 400)
        return body["results"] if expect < 400 else body["message"]

    def create(self, collection: str, body: dict[str, Any], expect: int = 201) -> Any:
        return self.call("POST", f"/v2/{collection}", expect, json=body)

    def get(self, path: str, expect: int = 200, **params: Any) -> Any:
        return self.call("GET", f"/v2/{path}", expect, params=params)

    def patch(self, path: str, body: dict[str, Any], expect: int = 200) -> Any:
        return self.call("PATCH", f"/v2/{path}", expect, json=body)

    def delete(self, path: str, expect: int = 200) -> Any:
        return self.call("DELETE", f"/v2/{path}", expect)

    def audit(self, action: str) -> list[dict[str, Any]]:
        return self.get("audit", action=action)["items"]


BUSINESS = {
    "name": "business",
    "timezone": "America/New_York",
    "days": ["mon-fri"],
    "start": "09:00",
    "end": "18:00",
    "holidays_country": "US",
}
