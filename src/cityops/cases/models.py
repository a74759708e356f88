"""The case aggregate: Case, its append-only CaseEvent history, attachments and in-app notifications."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

from cityops.cases.querysets import CaseManager
from cityops.cases.states import (
    OPEN_STATUSES,
    Action,
    CallbackStatus,
    ReturnReason,
    ReviewStatus,
    Satisfaction,
    SatisfactionSource,
    Status,
)
from cityops.catalog.models import CaseType, Stage, Urgency


class Channel(models.TextChoices):
    CITY_PLATFORM = "city_platform", "市级12345平台"
    HOTLINE = "hotline", "热线电话"
    INSPECTOR = "inspector", "网格员上报"
    WEB = "web", "市民网上反映"
    OPEN311 = "open311", "Open311"
    API = "api", "系统接口"
    IOT = "iot", "视频/物联感知"


class SlaLevel(models.TextChoices):
    NONE = "none", "无时限"
    GREEN = "green", "正常"
    YELLOW = "yellow", "即将超期"
    RED = "red", "已超期"


class CoordSystem(models.TextChoices):
    WGS84 = "wgs84", "WGS-84 (GPS)"
    GCJ02 = "gcj02", "GCJ-02 (高德/腾讯)"


def new_tracking_code() -> str:
    # Citizens follow their case with this code, not the guessable sequential number.
    return secrets.token_hex(5).upper()


class Case(models.Model):
    """One citizen's or inspector's report, from intake to closure.

    `version` grows with every accepted action; writers update with
    `filter(pk=…, version=read_version)` so two people acting at once cannot both win.
    """

    # Unique / indexed through Meta (below), not `unique=True` / `db_index=True`: on PostgreSQL
    # those also build a varchar_pattern_ops copy of the index for LIKE 'x%', which no query
    # uses and every insert and SLA update would maintain.
    number = models.CharField("案件编号", max_length=20)
    tracking_code = models.CharField("查询码", max_length=12, default=new_tracking_code)
    channel = models.CharField("来源渠道", max_length=16, choices=Channel.choices)
    external_id = models.CharField("外部编号", max_length=64, blank=True)
    case_type = models.CharField("工单类型", max_length=16, choices=CaseType.choices, default=CaseType.COMPLAINT)
    category = models.ForeignKey("catalog.Category", verbose_name="分类", null=True, blank=True, on_delete=models.PROTECT, related_name="cases")
    urgency = models.CharField("紧急程度", max_length=8, choices=Urgency.choices, default=Urgency.NORMAL)
    title = models.CharField("标题", max_length=120, blank=True)
    description = models.TextField("问题描述")
    lon = models.FloatField("经度 (WGS-84)", null=True, blank=True)
    lat = models.FloatField("纬度 (WGS-84)", null=True, blank=True)
    coord_source = models.CharField("坐标来源", max_length=8, choices=CoordSystem.choices, default=CoordSystem.WGS84)
    address = models.CharField("地址", max_length=200, blank=True)
    grid = models.ForeignKey("geo.UnitGrid", verbose_name="单元网格", null=True, blank=True, on_delete=models.PROTECT, related_name="cases")
    community = models.ForeignKey("geo.Region", verbose_name="社区/村", null=True, blank=True, on_delete=models.PROTECT, related_name="community_cases")
    # Indexed by the composite indexes of Meta (street/department first), not on their own.
    street = models.ForeignKey("geo.Region", verbose_name="街道/镇", null=True, blank=True, on_delete=models.PROTECT, related_name="street_cases", db_index=False)
    reporter_name = models.CharField("反映人", max_length=64, blank=True)
    reporter_phone = models.CharField("联系电话", max_length=32, blank=True)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.NEW)
    department = models.ForeignKey("catalog.Department", verbose_name="当前处置部门", null=True, blank=True, on_delete=models.PROTECT, related_name="cases", db_index=False)
    # SLA clock of the current stage.
    stage = models.CharField("当前环节", max_length=16, choices=Stage.choices, blank=True)
    stage_started_at = models.DateTimeField("环节开始", null=True, blank=True)
    stage_unit = models.CharField("时限单位", max_length=16, blank=True)
    deadline = models.DateTimeField("环节时限", null=True, blank=True, db_index=True)
    warn_at = models.DateTimeField("预警时间", null=True, blank=True, db_index=True)
    clock_paused_at = models.DateTimeField("计时暂停于", null=True, blank=True)
    clock_remaining = models.FloatField("暂停时剩余秒数", null=True, blank=True)
    sla_level = models.CharField("时限状态", max_length=8, choices=SlaLevel.choices, default=SlaLevel.NONE)
    handle_deadline = models.DateTimeField("处置时限", null=True, blank=True)
    handle_unit = models.CharField("处置时限单位", max_length=16, blank=True)
    extension_pending = models.BooleanField("延期待审批", default=False)
    extension_request = models.JSONField("延期申请", null=True, blank=True)
    supervised = models.BooleanField("督办件", default=False)
    urge_count = models.PositiveIntegerField("催办次数", default=0)
    rework_count = models.PositiveIntegerField("返工次数", default=0)
    return_count = models.PositiveIntegerField("退单次数", default=0)
    master = models.ForeignKey("self", verbose_name="主案件", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_cases")
    result = models.TextField("处置结果", blank=True)
    answer = models.TextField("答复内容", blank=True)
    # The issue-12 columns carry database defaults too: bulk writers that name only the columns
    # they know (the COPY of `cityops seed`) leave them at "no result / not called back".
    # The case's one satisfaction result: fixed by the first completed callback or the citizen's
    # own rating, whichever comes first; only the leader's audited correction changes it.
    satisfaction = models.CharField("满意度", max_length=24, choices=Satisfaction.choices, blank=True)
    satisfaction_at = models.DateTimeField("满意度确定时间", null=True, blank=True)
    satisfaction_source = models.CharField("满意度来源", max_length=16, choices=SatisfactionSource.choices, blank=True, default="", db_default="")
    # The reporter's own rating on /track/, never overwritten by staff.
    citizen_satisfaction = models.CharField("市民评价", max_length=24, choices=Satisfaction.choices, blank=True, default="", db_default="")
    callback_status = models.CharField("回访状态", max_length=16, choices=CallbackStatus.choices, blank=True, default="", db_default="")
    callback_attempts = models.PositiveSmallIntegerField("回访未接通次数", default=0, db_default=0)
    no_callback = models.BooleanField("反映人不需回访", default=False, db_default=False)
    review_status = models.CharField("不满意复核", max_length=16, choices=ReviewStatus.choices, blank=True, default="", db_default="")
    # A department's return waiting for the dispatcher (reason, note, suggested department, time).
    return_pending = models.BooleanField("退单待审核", default=False, db_default=False)
    return_request = models.JSONField("退单申请", null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="录入人", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField("上报时间")
    registered_at = models.DateTimeField("立案时间", null=True, blank=True)
    dispatched_at = models.DateTimeField("派遣时间", null=True, blank=True)
    responded_at = models.DateTimeField("反馈时间", null=True, blank=True)
    closed_at = models.DateTimeField("结案时间", null=True, blank=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)
    version = models.PositiveIntegerField("版本", default=1)

    # `Case.objects.overdue(now)`, `.near_due(now)`, `.open()`…: the SLA conditions' one home.
    objects = CaseManager()

    class Meta:
        verbose_name = "案件"
        verbose_name_plural = "案件"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"], condition=~models.Q(external_id=""), name="uniq_external_id_per_channel"
            ),
            # The names the former unique=True columns got, so existing databases match.
            models.UniqueConstraint(fields=["number"], name="cases_case_number_key"),
            models.UniqueConstraint(fields=["tracking_code"], name="cases_case_tracking_code_key"),
        ]
        # Lists read the newest cases first under one filter: each of these walks an index in
        # (created_at, id) order and stops after a page, instead of sorting every match.
        # They replace the single-column indexes on status, department, street and created_at,
        # so an insert maintains no more indexes than before.
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="case_recent"),
            models.Index(fields=["status", "-created_at", "-id"], name="case_status_recent"),
            models.Index(fields=["department", "-created_at", "-id"], name="case_dept_recent"),
            models.Index(fields=["street", "-created_at", "-id"], name="case_street_recent"),
            models.Index(
                fields=["-created_at", "-id"], name="case_open_recent", condition=models.Q(status__in=sorted(OPEN_STATUSES))
            ),
            models.Index(
                fields=["deadline", "id"], name="case_overdue",
                condition=models.Q(status__in=sorted(OPEN_STATUSES), clock_paused_at__isnull=True),
            ),
            models.Index(fields=["department", "status"], name="case_dept_status"),
            models.Index(fields=["street", "status"], name="case_street_status"),
            models.Index(fields=["status", "deadline"], name="case_status_deadline"),
            models.Index(fields=["callback_status", "closed_at"], name="case_callback_queue"),
            models.Index(fields=["review_status"], name="case_review_queue", condition=~models.Q(review_status="")),
            models.Index(fields=["satisfaction_at"], name="case_satisfaction_at"),
            # Formerly db_index=True (same names): see the note on the fields.
            models.Index(fields=["channel"], name="cases_case_channel_7d5230ef"),
            models.Index(fields=["sla_level"], name="cases_case_sla_level_27c6c025"),
        ]
        permissions = [
            ("view_all_cases", "查看全部案件"),
            ("view_personal_data", "查看反映人完整联系方式"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        from cityops.cases.states import OPEN_STATUSES

        return self.status in OPEN_STATUSES


class CaseEvent(models.Model):
    """One line of a case's history. Append-only: rows are never updated or deleted."""

    case = models.ForeignKey(Case, verbose_name="案件", on_delete=models.CASCADE, related_name="events")
    created_at = models.DateTimeField("时间", db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="操作人", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField("操作人名称", max_length=64, blank=True, help_text="如 市民、系统、智能分拨")
    action = models.CharField("动作", max_length=24, choices=Action.choices, db_index=True)
    from_status = models.CharField("原状态", max_length=16, choices=Status.choices, blank=True)
    to_status = models.CharField("新状态", max_length=16, choices=Status.choices, blank=True)
    department = models.ForeignKey("catalog.Department", verbose_name="部门", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    note = models.TextField("说明", blank=True)
    payload = models.JSONField("数据", default=dict, blank=True)

    class Meta:
        verbose_name = "案件日志"
        verbose_name_plural = "案件日志"
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["action", "created_at"], name="event_action_time")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.action} {self.created_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError("CaseEvent is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("CaseEvent is append-only")


class AttachmentKind(models.TextChoices):
    BEFORE = "before", "处置前照片"
    AFTER = "after", "处置后照片"
    VERIFY = "verify", "核查照片"
    DOCUMENT = "document", "文档"


def attachment_path(instance: Attachment, filename: str) -> str:
    return f"cases/{instance.case.created_at:%Y/%m}/{instance.case.number}/{secrets.token_hex(8)}{_suffix(filename)}"


def public_attachment_path(instance: Attachment, filename: str) -> str:
    return f"public/{instance.case.created_at:%Y/%m}/{secrets.token_hex(12)}{_suffix(filename)}"


def _suffix(filename: str) -> str:
    return "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""


class Attachment(models.Model):
    """A photo or document of a case. Photos keep their original (with GPS for inspectors)
    and a stripped copy that is the only one ever shown publicly."""

    case = models.ForeignKey(Case, verbose_name="案件", on_delete=models.CASCADE, related_name="attachments")
    event = models.ForeignKey(CaseEvent, verbose_name="关联日志", null=True, blank=True, on_delete=models.SET_NULL, related_name="attachments")
    kind = models.CharField("类型", max_length=16, choices=AttachmentKind.choices)
    file = models.FileField("原始文件", upload_to=attachment_path)
    public_file = models.FileField("公开文件 (已去除位置信息)", upload_to=public_attachment_path, blank=True)
    original_name = models.CharField("原文件名", max_length=200, blank=True)
    content_type = models.CharField("类型", max_length=64)
    size = models.PositiveIntegerField("大小 (字节)")
    gps = models.JSONField("拍摄位置", null=True, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="上传人", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField("上传时间", auto_now_add=True)

    class Meta:
        verbose_name = "附件"
        verbose_name_plural = "附件"
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.get_kind_display()}"


class PendingFanout(models.Model):
    """A committed case event whose derived work (rollups, duplicate index, webhook rows,
    auto-dispatch) has not run yet: the transactional outbox of `cases.fanout`, written in the
    event's own transaction when `CITYOPS_EVENT_FANOUT` is "deferred", deleted in the transaction
    that does the work."""

    event = models.OneToOneField(CaseEvent, verbose_name="案件日志", primary_key=True, on_delete=models.CASCADE,
                                 related_name="+")

    class Meta:
        verbose_name = "待分发案件日志"
        verbose_name_plural = "待分发案件日志"

    def __str__(self) -> str:
        return str(self.event_id)


class CaseNumberCounter(models.Model):
    """Per-day sequence behind case numbers such as CD20261126-0001."""

    day = models.DateField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "案件编号计数"
        verbose_name_plural = "案件编号计数"

    def __str__(self) -> str:
        return f"{self.day}: {self.last}"


class NotificationKind(models.TextChoices):
    NEW_TASK = "new_task", "新任务"
    SLA_WARNING = "sla_warning", "即将超期"
    SLA_OVERDUE = "sla_overdue", "已超期"
    SUPERVISE = "supervise", "督办"
    URGE = "urge", "催办"
    EXTENSION = "extension", "延期申请"
    RETURNED = "returned", "退单"
    INFO = "info", "通知"


class Notification(models.Model):
    """An in-app message to one user about one case."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="接收人", on_delete=models.CASCADE, related_name="notifications")
    case = models.ForeignKey(Case, verbose_name="案件", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField("类型", max_length=16, choices=NotificationKind.choices)
    message = models.CharField("内容", max_length=300)
    dedupe_key = models.CharField("去重键", max_length=80, blank=True)
    created_at = models.DateTimeField("时间", auto_now_add=True)
    read_at = models.DateTimeField("已读时间", null=True, blank=True)

    class Meta:
        verbose_name = "站内通知"
        verbose_name_plural = "站内通知"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "dedupe_key"], condition=~models.Q(dedupe_key=""), name="uniq_notification_dedupe"
            ),
        ]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notif_recipient_unread")]

    def __str__(self) -> str:
        return self.message


__all__ = ["Attachment", "Case", "CaseEvent", "Channel", "Notification", "ReturnReason", "Satisfaction", "SlaLevel"]
