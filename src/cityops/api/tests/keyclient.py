"""A JSON test client for /api/v1 that authenticates with an API key (X-API-Key)."""

from __future__ import annotations

import json

from django.test import Client

from cityops.api.keys import IssuedKey, apikey_issue, service_account_create


def key_like(person, name: str) -> IssuedKey:
    """A key whose service account holds `person`'s roles and scope (department, grids):
    keys are never bound to a person's account (三员分立), so tests that want "the API as
    role X in scope Y" get a service account shaped like their fixture person."""
    from cityops.accounts.services import user_set_roles

    account = service_account_create(name=name, role="system")
    account.department = person.department
    account.save(update_fields=["department"])
    account.grids.set(person.grids.all())
    user_set_roles(user=account, role_codes=person.role_codes or {"system"})
    return apikey_issue(name=name, user=account)


class KeyClient:
    def __init__(self, key: str):
        self.key = key
        self.client = Client()
        self.headers = {"HTTP_X_API_KEY": key}

    @classmethod
    def issue(cls, name: str = "测试系统", *, role: str = "system", department_code: str | None = None, user=None) -> KeyClient:
        issued = apikey_issue(name=name, role=None if user else role, department_code=department_code, user=user)
        client = cls(issued.key)
        client.record = issued.record
        return client

    def get(self, path: str, params=None):
        return self.client.get(f"/api/v1{path}", params or {}, **self.headers)

    def post(self, path: str, body=None, raw: str | bytes | None = None, content_type: str = "application/json"):
        data = raw if raw is not None else json.dumps(body if body is not None else {}, ensure_ascii=False)
        return self.client.post(f"/api/v1{path}", data=data, content_type=content_type, **self.headers)
