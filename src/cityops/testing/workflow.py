"""Cases moved along the real workflow (through `case_transition`), for page and API tests.

`people` is the `people` fixture (one user per role); `department` is `chengguan` (handled by
`people["dept"]`) or another department (handled by `people["other_dept"]`)."""

import re

from cityops.cases.states import Action
from cityops.cases.tests.factories import make_case
from cityops.cases.workflow import case_transition

ACTION_ATTR = re.compile(r'data-action="([a-z_]+)"')


def registered(people, category, **kwargs):
    return case_transition(case=make_case(category=category, **kwargs), action=Action.REGISTER, actor=people["operator"])


def dispatched(people, category, department, **kwargs):
    case = registered(people, category, **kwargs)
    return case_transition(case=case, action=Action.DISPATCH, actor=people["dispatcher"], data={"department": department.code})


def in_progress(people, category, department, **kwargs):
    case = dispatched(people, category, department, **kwargs)
    user = people["dept"] if department.code == "chengguan" else people["other_dept"]
    return case_transition(case=case, action=Action.SIGN, actor=user)


def responded(people, category, department, **kwargs):
    case = in_progress(people, category, department, **kwargs)
    user = people["dept"] if department.code == "chengguan" else people["other_dept"]
    return case_transition(case=case, action=Action.RESPOND, actor=user, data={"result": "已处置完毕"})


def offered_actions(html: str) -> set[str]:
    """The actions the page offers as forms (data-action attributes inside the actions panel)."""
    start = html.find('id="case-actions"')
    assert start != -1, "detail page has no actions panel"
    end = html.find("</section>", start)
    return set(ACTION_ATTR.findall(html[start:end]))
