"""Finding 9: /api/docs and /api/openapi.json are public by decision (docs/integration.md) —
so they must hold the interface contract only: no data, no accounts, no configuration, and
the page must not keep a typed token in the browser."""

import pytest
from django.test import Client

from cityops.accounts.tests.factories import UserFactory
from cityops.cases.tests.factories import DepartmentFactory, LeafCategoryFactory, make_case

pytestmark = pytest.mark.django_db


def test_the_api_reference_is_public_and_holds_no_data(settings):
    UserFactory(username="zz-probe-user", display_name="探针用户", role="operator")
    DepartmentFactory(code="zz-probe-dept", name="探针部门")
    LeafCategoryFactory(code="Z9999", name="探针类别")
    make_case(description="探针案件描述", reporter_phone="13912345678", address="探针路 1 号")
    anonymous = Client()
    page, schema = anonymous.get("/api/docs"), anonymous.get("/api/openapi.json")
    assert page.status_code == 200 and schema.status_code == 200
    text = schema.content.decode("unicode_escape") + page.content.decode()
    for private in ("zz-probe-user", "探针用户", "zz-probe-dept", "探针部门", "Z9999", "探针类别", "探针案件", "13912345678",
                    "探针路", settings.SECRET_KEY, settings.CITYOPS_AUDIT_HMAC_KEY, "postgres://", "sqlite"):
        assert private not in text, private


def test_the_docs_page_does_not_keep_a_token_in_the_browser():
    html = Client().get("/api/docs").content.decode()
    assert '"persistAuthorization": false' in html
