"""A JSON test client for /api/v1 that carries a bearer token."""

from __future__ import annotations

import json

from django.test import Client

from cityops.api.tokens import token_issue


class ApiClient:
    """`api.get("/cases")` → response with `.json()`; paths are relative to /api/v1."""

    def __init__(self, user=None, token: str | None = None):
        self.client = Client()
        self.headers = {}
        if user is not None:
            token = token_issue(user=user).token
        if token:
            self.headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"

    def get(self, path: str, params=None):
        return self.client.get(f"/api/v1{path}", params or {}, **self.headers)

    def post(self, path: str, body=None, raw: str | None = None):
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.post(f"/api/v1{path}", data=data, content_type="application/json", **self.headers)

    def delete(self, path: str):
        return self.client.delete(f"/api/v1{path}", **self.headers)
