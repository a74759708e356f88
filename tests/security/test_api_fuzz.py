"""Property-based fuzzing of the v1 API from its own OpenAPI document (等保 2.0 入侵防范):
for every operation, schemathesis generates valid and invalid requests; none may answer 5xx,
every status must be one the operation documents, every answer must match the documented
response schema, and a request that violates the schema must be refused (negative data
rejection: the schema is no looser than the server).

Each operation is called as an integrator would, with an API key (X-API-Key) of a service
account whose role passes its permission check, so the fuzzing reaches the handlers, not
only the 403. The examples are derandomized and bounded (`MAX_EXAMPLES`), and
each one runs in a savepoint that is rolled back, so the world stays the same for the next.
"""

from __future__ import annotations

import pytest
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.openapi import from_wsgi
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from cityops.accounts import roles
from cityops.api.tests.keyclient import key_like
from tests.security.routes import api_operations

pytestmark = pytest.mark.django_db

OPENAPI_URL = "/api/openapi.json"
MAX_EXAMPLES = 20
# The role whose permission check each operation passes; operator by default.
ROLE_FOR = {
    "POST /api/v1/intake/alarm": roles.SYSTEM,
    "GET /api/v1/stats/assessment/indicators": roles.LEADER,
    "GET /api/v1/stats/assessment/ranking": roles.LEADER,
    "GET /api/v1/stats/assessment/targets": roles.LEADER,
    "POST /api/v1/cases/{number}/actions/{action}": roles.DISPATCHER,
}
OPERATIONS = [route.key for route in api_operations()]


@pytest.fixture(scope="module")
def wsgi():
    """The real WSGI app, without Django closing the test transaction's connection per request
    (the test client does the same)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(scope="module")
def api_schema(wsgi, world):
    return from_wsgi(OPENAPI_URL, wsgi)


@pytest.fixture(scope="module")
def auth_headers(world, django_db_blocker) -> dict[str, dict[str, str]]:
    """An API key for each role the operations need, bound to that role's account of the world."""
    codes = {roles.OPERATOR, *ROLE_FOR.values()}
    with django_db_blocker.unblock():
        return {code: {"X-API-Key": key_like(world.users[code], f"模糊测试-{code}").key} for code in codes}


def test_every_operation_of_the_document_is_fuzzed(api_schema):
    documented = {f"{op.ok().method.upper()} {op.ok().path}" for op in api_schema.get_all_operations()}
    assert documented == set(OPERATIONS)


@pytest.mark.parametrize("label", OPERATIONS)
def test_operation_never_answers_5xx_and_matches_its_schema(api_schema, auth_headers, label):
    method, path = label.split(" ", 1)
    operation = api_schema[path][method]
    headers = auth_headers[ROLE_FOR.get(label, roles.OPERATOR)]
    strategy = st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))

    @settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def check(case):
        with transaction.atomic():
            response = case.call(headers=headers)
            transaction.set_rollback(True)
        case.validate_response(response, checks=[
            not_a_server_error, status_code_conformance, response_schema_conformance, negative_data_rejection,
        ])

    check()
