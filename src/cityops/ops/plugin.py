"""What the ops app adds (see `cityops.common.plugins`): the escalation of long-overdue cases
to the leaders (its watermark is the job's own `JobRun` row)."""

from cityops.common.plugins import Job, Plugin
from cityops.ops.escalation import ESCALATE_JOB, escalate_overdue

PLUGIN = Plugin(
    jobs=(Job(ESCALATE_JOB, escalate_overdue, "CITYOPS_ESCALATE_SECONDS", 60, expires=55, soft_time_limit=600),),
)
