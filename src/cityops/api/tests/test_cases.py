"""The case endpoints: intake, reading within scope, workflow actions and their errors."""

from datetime import timedelta

import pytest
from django.utils import timezone

from cityops.cases.models import Case, CaseEvent
from cityops.cases.tests.factories import make_case
from cityops.testing.square import INSIDE, OUTSIDE

pytestmark = pytest.mark.django_db


def create(client, body):
    response = client.post("/cases", body)
    assert response.status_code == 201, response.content
    return response.json()


def move(client, number, action, **body):
    response = client.post(f"/cases/{number}/actions/{action}", body)
    assert response.status_code == 200, response.content
    return response.json()


def dispatched(as_role, report, department):
    case = create(as_role("operator"), report())
    move(as_role("operator"), case["number"], "register")
    return move(as_role("dispatcher"), case["number"], "dispatch", department=department.code)


# ---------------------------------------------------------------- intake


def test_operator_creates_a_hotline_case_placed_on_the_map_with_the_full_phone(as_role, report, district, category):
    body = create(as_role("operator"), report(type="help"))
    assert body["number"].startswith("CD")
    assert body["status"] == "new" and body["status_label"] == "待受理"
    assert body["channel"] == "hotline" and body["case_type"] == "help"
    assert body["category"] == {"code": category.code, "name": category.name}
    assert body["grid"] == district["grid"].code
    assert body["street"] == {"code": district["street"].code, "name": district["street"].name}
    assert body["community"]["code"] == district["community"].code
    assert body["department"] is None
    assert body["reporter_phone"] == "138****1234" and body["reporter_name"] == "张*"  # masked by default
    assert body["reporter_masked"] is True
    assert body["stage"] == "register" and body["deadline"] and body["sla_level"] == "green"
    assert body["version"] == 1
    assert set(body["available_actions"]) >= {"register", "reject", "answer"}
    assert Case.objects.get(number=body["number"]).created_by.username.startswith("user")


def test_channel_follows_the_role_of_the_reporter(as_role, report, district):
    assert create(as_role("system"), report())["channel"] == "api"
    assert create(as_role("inspector"), report())["channel"] == "inspector"
    assert create(as_role("operator"), report(channel="city_platform"))["channel"] == "city_platform"


def test_a_channel_the_role_may_not_use_is_refused(as_role, report, district):
    response = as_role("inspector").post("/cases", report(channel="hotline"))
    assert response.status_code == 400
    assert response.json()["details"] == {"channel": "not_allowed"}


def test_roles_without_add_case_may_not_create(as_role, report, district):
    for role in ("leader", "dept", "dispatcher"):
        response = as_role(role).post("/cases", report())
        assert response.status_code == 403
        assert response.json()["code"] == "forbidden"
    assert not Case.objects.exists()


def test_phone_is_masked_and_only_the_dispatcher_may_reveal_it_which_is_recorded(as_role, report, district, department):
    from cityops.audit.models import AuditAction, AuditEntry

    number = dispatched(as_role, report, department)["number"]
    assert as_role("dispatcher").get(f"/cases/{number}").json()["reporter_phone"] == "138****1234"
    body = as_role("dispatcher").get(f"/cases/{number}?reveal_personal_data=true").json()
    assert body["reporter_phone"] == "13812341234" and body["reporter_masked"] is False
    entry = AuditEntry.objects.get(action=AuditAction.VIEW_PERSONAL_DATA, target=f"case:{number}")
    assert entry.details["via"] == "api"
    for role in ("leader", "dept"):
        body = as_role(role).get(f"/cases/{number}").json()
        assert body["reporter_phone"] == "138****1234"
        assert body["reporter_name"] == "张*"
        assert body["reporter_masked"] is True
        response = as_role(role).get(f"/cases/{number}?reveal_personal_data=true")
        assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert AuditEntry.objects.filter(action=AuditAction.VIEW_PERSONAL_DATA).count() == 1


def test_missing_description_is_a_validation_error_naming_the_field(as_role, report, district):
    response = as_role("operator").post("/cases", report(description=None))
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["details"] == {"description": "必填"}


def test_blank_description_is_refused_by_the_intake_rules(as_role, report, district):
    response = as_role("operator").post("/cases", report(description="   "))
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "description" in response.json()["details"]


def test_wrong_types_are_listed_per_field(as_role, report, district):
    response = as_role("operator").post("/cases", report(lon="east", type="rant"))
    assert response.status_code == 400
    details = response.json()["details"]
    assert set(details) == {"lon", "type"}
    assert "consult" in details["type"]


def test_unknown_category_is_a_validation_error(as_role, report, district):
    response = as_role("operator").post("/cases", report(category="X0000"))
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "category" in response.json()["details"]


def test_location_outside_the_district_is_refused(as_role, report, district):
    response = as_role("operator").post("/cases", report(**OUTSIDE))
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert "位置不在本辖区" in body["message"]
    assert "location" in body["details"]


def test_gcj02_coordinates_are_converted_before_placing_the_case(as_role, report, district):
    body = create(as_role("system"), report(coord_system="gcj02", lon=INSIDE["lon"] + 0.001, lat=INSIDE["lat"] + 0.001))
    assert body["grid"] == district["grid"].code
    assert body["lon"] != pytest.approx(INSIDE["lon"] + 0.001, abs=1e-5)


def test_malformed_json_is_invalid_json(as_role, district):
    response = as_role("operator").post("/cases", raw='{"description": ')
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"


def test_duplicate_external_id_of_a_system_is_refused(as_role, report, district):
    create(as_role("system"), report(external_id="IOT-1"))
    response = as_role("system").post("/cases", report(external_id="IOT-1"))
    assert response.status_code == 400
    assert response.json()["details"] == {"external_id": "duplicate"}


# ---------------------------------------------------------------- reading


def test_list_filters_and_paginates(as_role, category, department):
    old = make_case(category=category, description="旧案件 井盖破损")
    Case.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    cases = [make_case(category=category, description=f"案件{i}") for i in range(4)]
    make_case(description="市民网上反映", channel="web")
    Case.objects.filter(pk=cases[0].pk).update(status="registered")
    Case.objects.filter(pk=cases[1].pk).update(status="dispatched", department=department)
    Case.objects.filter(pk=cases[2].pk).update(deadline=timezone.now() - timedelta(hours=1))
    client = as_role("leader")

    page = client.get("/cases", {"page_size": 2}).json()
    assert page["count"] == 6 and page["page"] == 1 and page["page_size"] == 2 and len(page["results"]) == 2
    assert len(client.get("/cases", {"page_size": 2, "page": 3}).json()["results"]) == 2
    assert client.get("/cases", {"page": 9}).json()["results"] == []

    def numbers(**params):
        return {c["number"] for c in client.get("/cases", params).json()["results"]}

    assert numbers(status="registered,dispatched") == {cases[0].number, cases[1].number}
    assert numbers(status=["registered", "dispatched"]) == {cases[0].number, cases[1].number}
    assert numbers(department=department.code) == {cases[1].number}
    assert numbers(channel="web") == {Case.objects.get(channel="web").number}
    assert len(numbers(category=category.parent.code)) == 5
    assert numbers(overdue="true") == {cases[2].number}
    assert old.number not in numbers(created_from=str(timezone.localdate() - timedelta(days=1)))
    assert numbers(created_to=str(timezone.localdate() - timedelta(days=5))) == {old.number}
    assert numbers(q="井盖") == {old.number}


def test_list_rejects_bad_filters_as_validation_errors(as_role, db):
    client = as_role("leader")
    for params, field in (({"status": "lost"}, "status"), ({"page_size": 101}, "page_size"),
                          ({"created_from": "yesterday"}, "created_from"), ({"page": 0}, "page")):
        response = client.get("/cases", params)
        assert response.status_code == 400, params
        assert response.json()["code"] == "validation_error"
        assert field in response.json()["details"]


def test_department_lists_only_cases_dispatched_to_it(as_role, report, district, department):
    mine = dispatched(as_role, report, department)
    create(as_role("operator"), report(description="另一件"))
    results = as_role("dept").get("/cases").json()["results"]
    assert [c["number"] for c in results] == [mine["number"]]
    assert as_role("other_dept").get("/cases").json()["count"] == 0


def test_another_departments_case_is_404_on_read_and_on_actions(as_role, report, district, department):
    number = dispatched(as_role, report, department)["number"]
    other = as_role("other_dept")
    for response in (other.get(f"/cases/{number}"), other.get(f"/cases/{number}/events"),
                     other.post(f"/cases/{number}/actions/sign")):
        assert response.status_code == 404
        assert response.json() == {"code": "not_found", "message": "案件不存在。", "details": None}
    assert as_role("dept").get("/cases/CD19990101-0001").status_code == 404
    assert Case.objects.get(number=number).status == "dispatched"


def test_events_show_the_history_with_actor_and_department(as_role, report, district, department):
    number = dispatched(as_role, report, department)["number"]
    events = as_role("dept").get(f"/cases/{number}/events").json()
    assert [e["action"] for e in events] == ["create", "register", "dispatch"]
    dispatch = events[-1]
    assert dispatch["action_label"] == "派遣"
    assert dispatch["from_status"] == "registered" and dispatch["to_status"] == "dispatched"
    assert dispatch["department"] == department.code
    assert dispatch["payload"]["department"] == department.code
    assert dispatch["actor"]


# ---------------------------------------------------------------- actions


def test_a_role_outside_the_table_gets_403(as_role, report, district):
    number = create(as_role("operator"), report())["number"]
    response = as_role("leader").post(f"/cases/{number}/actions/register")
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert Case.objects.get(number=number).status == "new"


def test_an_action_the_state_does_not_allow_is_409_invalid_transition(as_role, report, district, department):
    number = create(as_role("operator"), report())["number"]
    response = as_role("dispatcher").post(f"/cases/{number}/actions/dispatch", {"department": department.code})
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "invalid_transition"
    assert body["details"] == {"status": "new", "action": "dispatch"}


def test_a_stale_version_is_409_conflict_and_changes_nothing(as_role, report, district):
    case = create(as_role("operator"), report())
    move(as_role("operator"), case["number"], "register", version=case["version"])
    response = as_role("operator").post(f"/cases/{case['number']}/actions/reject", {"note": "重复", "version": case["version"]})
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert Case.objects.get(number=case["number"]).status == "registered"


def test_unknown_action_is_400_unknown_action(as_role, report, district):
    number = create(as_role("operator"), report())["number"]
    response = as_role("operator").post(f"/cases/{number}/actions/teleport")
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_action"
    assert "register" in response.json()["details"]["choices"]


def test_missing_action_field_is_a_validation_error(as_role, report, district, department):
    number = dispatched(as_role, report, department)["number"]
    response = as_role("dept").post(f"/cases/{number}/actions/return", {"note": "不归我们管"})
    assert response.status_code == 400
    assert response.json()["details"]["reason"] == "required"


def test_the_whole_path_from_register_to_callback(as_role, report, district, department):
    operator, dispatcher, dept = as_role("operator"), as_role("dispatcher"), as_role("dept")
    case = create(operator, report())
    number = case["number"]
    assert move(operator, number, "register", note="符合立案条件")["status"] == "registered"
    case = move(dispatcher, number, "dispatch", department=department.code)
    assert case["status"] == "dispatched" and case["department"]["code"] == department.code
    assert case["handle_deadline"] and case["stage"] == "sign"
    assert dept.get(f"/cases/{number}").json()["available_actions"] == ["sign", "return"]
    response = dept.post(f"/cases/{number}/actions/sign", raw="")  # no body at all
    assert response.status_code == 200, response.content
    case = response.json()
    assert case["status"] == "in_progress" and "respond" in case["available_actions"]
    assert move(dept, number, "respond", result="已清理完毕")["status"] == "responded"
    case = move(dispatcher, number, "verify", passed=True)
    assert case["status"] == "closed" and case["closed_at"] and case["sla_level"] == "none"
    case = move(operator, number, "callback", satisfaction="satisfied")
    assert case["status"] == "closed" and case["satisfaction"] == "satisfied"
    assert case["version"] == 7
    events = operator.get(f"/cases/{number}/events").json()
    assert [e["action"] for e in events] == ["create", "register", "dispatch", "sign", "respond", "verify", "callback"]
    assert CaseEvent.objects.filter(case__number=number).count() == 7


def closed_number(as_role, report, department):
    number = dispatched(as_role, report, department)["number"]
    move(as_role("dept"), number, "sign")
    move(as_role("dept"), number, "respond", result="已处理")
    move(as_role("dispatcher"), number, "verify", passed="true")
    return number


def test_a_second_callback_is_an_invalid_transition(as_role, report, district, department):
    number = closed_number(as_role, report, department)
    case = move(as_role("operator"), number, "callback", satisfaction="unsatisfied")
    assert case["satisfaction"] == "unsatisfied" and case["satisfaction_source"] == "callback"
    assert case["callback_status"] == "done" and case["review_status"] == "pending"
    response = as_role("operator").post(f"/cases/{number}/actions/callback", {"satisfaction": "satisfied"})
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"
    assert Case.objects.get(number=number).satisfaction == "unsatisfied"


def test_unanswered_callbacks_through_the_api(as_role, report, district, department):
    number = closed_number(as_role, report, department)
    for _ in range(3):
        case = move(as_role("operator"), number, "callback_attempt")
    assert case["callback_attempts"] == 3 and case["callback_status"] == "unreachable"
    assert "callback" not in case["available_actions"]


def test_a_correction_needs_a_reason_and_the_leader(as_role, report, district, department):
    number = closed_number(as_role, report, department)
    move(as_role("operator"), number, "callback", satisfaction="unsatisfied")
    response = as_role("leader").post(f"/cases/{number}/actions/correct_satisfaction", {"satisfaction": "satisfied"})
    assert response.status_code == 400 and response.json()["details"]["note"] == "required"
    assert as_role("dispatcher").post(f"/cases/{number}/actions/correct_satisfaction",
                                      {"satisfaction": "satisfied", "note": "误录"}).status_code == 403
    case = move(as_role("leader"), number, "correct_satisfaction", satisfaction="satisfied", note="录音核实为满意")
    assert case["satisfaction"] == "satisfied"


def test_the_dispatcher_reopens_an_unsatisfied_case(as_role, report, district, department):
    number = closed_number(as_role, report, department)
    move(as_role("operator"), number, "callback", satisfaction="unsatisfied", note="垃圾仍未清走")
    case = move(as_role("dispatcher"), number, "reopen", note="请重新清运")
    assert case["status"] == "dispatched" and case["department"]["code"] == department.code
    assert case["satisfaction"] == "" and case["review_status"] == "reopened"


def test_callback_with_the_old_reopen_flag_is_refused(as_role, report, district, department):
    number = closed_number(as_role, report, department)
    response = as_role("operator").post(f"/cases/{number}/actions/callback",
                                        {"satisfaction": "unsatisfied", "reopen": True, "note": "x"})
    assert response.status_code == 400 and "reopen" in response.json()["details"]


def test_merge_and_extension_fields_reach_the_workflow(as_role, report, district, department):
    master = create(as_role("operator"), report())["number"]
    duplicate = create(as_role("operator"), report(description="同一处垃圾"))["number"]
    assert move(as_role("operator"), duplicate, "merge", master=master)["master"] == master
    number = dispatched(as_role, report, department)["number"]
    move(as_role("dept"), number, "sign")
    case = move(as_role("dept"), number, "request_extension", value=2, unit="work_day", note="需协调施工队")
    assert case["extension_pending"] is True
    assert as_role("dispatcher").get(f"/cases/{number}").json()["available_actions"].count("approve_extension") == 1
    assert move(as_role("dispatcher"), number, "approve_extension")["extension_pending"] is False


def test_supervise_marks_the_case_for_leaders(as_role, report, district, department):
    number = dispatched(as_role, report, department)["number"]
    case = move(as_role("leader"), number, "supervise", note="请尽快处置")
    assert case["supervised"] is True and case["status"] == "dispatched"
    assert move(as_role("leader"), number, "urge")["urge_count"] == 1


def test_list_count_stops_at_the_cap_and_says_so(as_role, category, monkeypatch):
    monkeypatch.setattr("cityops.cases.selectors.LIST_COUNT_CAP", 3)
    for i in range(5):
        make_case(category=category, description=f"案件{i}")
    client = as_role("leader")

    page = client.get("/cases", {"page_size": 2}).json()
    assert page["count"] == 3 and page["count_capped"] is True
    narrow = client.get("/cases", {"page_size": 2, "q": "案件4"}).json()
    assert narrow["count"] == 1 and narrow["count_capped"] is False


def test_the_overdue_list_puts_the_most_overdue_case_first(as_role, category):
    now = timezone.now()
    late = {hours: make_case(category=category, description=f"超期{hours}小时") for hours in (1, 30, 5)}
    for hours, case in late.items():
        Case.objects.filter(pk=case.pk).update(deadline=now - timedelta(hours=hours))
    make_case(category=category, description="未超期")

    for params in ({"overdue": "true"}, {"sla": "red"}):
        numbers = [c["number"] for c in as_role("leader").get("/cases", params).json()["results"]]
        assert numbers == [late[30].number, late[5].number, late[1].number]
