"""What the cases app adds (see `cityops.common.plugins`): the case permissions of the working
roles, and its periodic jobs — the outbox fan-out, the SLA scan and the privacy retention."""

from __future__ import annotations

from typing import Any

from cityops.accounts import roles
from cityops.cases.fanout import fan_out_pending
from cityops.cases.privacy import privacy_job
from cityops.cases.sla_scan import sla_scan
from cityops.common.plugins import Job, Plugin

_CASE_VIEW = ["cases.view_case", "cases.view_caseevent", "cases.view_attachment"]


def fanout_job() -> dict[str, Any]:
    """Derived work of committed case events, from the outbox, in batches (see `cases.fanout`)."""
    return fan_out_pending()


def sla_scan_job() -> dict[str, Any]:
    """Yellow/red transitions with their events and notifications (see `sla_scan`)."""
    result = sla_scan()
    return {"yellow": result.turned_yellow, "red": result.turned_red, "notifications": result.notifications}


PLUGIN = Plugin(
    permissions={
        roles.OPERATOR: [*_CASE_VIEW, "cases.add_case", "cases.view_all_cases", "cases.view_personal_data"],
        roles.DISPATCHER: [*_CASE_VIEW, "cases.view_all_cases", "cases.view_personal_data"],
        roles.LEADER: [*_CASE_VIEW, "cases.view_all_cases"],
        roles.DEPARTMENT: _CASE_VIEW,
        roles.INSPECTOR: [*_CASE_VIEW, "cases.add_case"],
        roles.SYSTEM: [*_CASE_VIEW, "cases.add_case"],
        roles.AUDITOR: ["cases.view_caseevent"],
    },
    jobs=(
        Job("fanout", fanout_job, "CITYOPS_FANOUT_SECONDS", 60, expires=5, soft_time_limit=120),
        Job("sla_scan", sla_scan_job, "CITYOPS_SLA_SCAN_SECONDS", 60, expires=55, soft_time_limit=600),
        # Reporters of cases closed longer ago than PERSONAL_DATA_RETENTION_MONTHS become anonymous.
        Job("privacy", privacy_job, "CITYOPS_PRIVACY_SECONDS", 86400, expires=3600, soft_time_limit=3600),
    ),
)
