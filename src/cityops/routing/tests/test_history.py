from cityops.cases.models import CaseEvent
from cityops.cases.tests.factories import make_case
from cityops.routing.history import history_dataset


def _dispatch(case, dept):
    CaseEvent.objects.create(case=case, created_at=case.created_at, action="dispatch", department=dept, payload={"route": "manual"})


def _return(case, dept, mis=True):
    CaseEvent.objects.create(case=case, created_at=case.created_at, action="return", department=dept,
                             payload={"mis_dispatch": mis, "reason": "not_our_duty" if mis else "other"})


def test_history_labels_are_corrected_by_re_dispatch(hotline):
    leaves, depts = hotline["leaves"], hotline["departments"]
    kept = make_case(category=leaves["H01"], description="小区物业乱收停车费")
    _dispatch(kept, depts["H01"])
    corrected = make_case(category=leaves["H01"], description="公司拖欠工资三个月")
    _dispatch(corrected, depts["H01"])
    _return(corrected, depts["H01"])
    _dispatch(corrected, depts["H02"])  # 人社 took it: the case was really H02
    unresolved = make_case(category=leaves["H03"], description="学校乱收费")
    _dispatch(unresolved, depts["H02"])
    _return(unresolved, depts["H02"])
    make_case(category=leaves["H02"], description="从未派遣")
    data, report = history_dataset()
    labels = dict(zip(data.ids, data.labels, strict=True))
    assert labels == {kept.number: "H01", corrected.number: "H02"}
    assert report.corrected == 1 and report.left_out_unresolved == 1
