import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from cityops.cases.models import Attachment, Case, CaseEvent, Channel
from cityops.cases.states import Action, Status
from cityops.cases.tests.factories import make_case
from cityops.common.tests.ratelimit_clock import FROZEN, frozen_ratelimit_clock
from cityops.intake.services import citizen_rate
from cityops.intake.tests.support import INSIDE_WEST, OUTSIDE, closed_case, report_data

pytestmark = pytest.mark.django_db


def test_citizen_report_creates_a_web_case_and_shows_number_and_tracking_code(client, geo, jpeg):
    response = client.post(reverse("intake:report"), report_data(photo=jpeg()))
    assert response.status_code == 302 and response["Location"] == reverse("intake:report_done")
    case = Case.objects.get()
    assert case.channel == Channel.WEB
    assert case.status == Status.NEW
    assert case.grid == geo.west and case.street == geo.street and case.community == geo.community
    assert case.reporter_phone == "13900001111"
    assert case.created_by is None
    event = case.events.get()
    assert event.action == Action.CREATE and event.actor_label == "市民"
    photo = Attachment.objects.get(case=case)
    assert photo.kind == "before" and photo.gps is None and photo.event == event
    done = client.get(response["Location"])
    html = done.content.decode()
    assert case.number in html
    assert case.tracking_code in html
    assert f"/track/?code={case.tracking_code}" in html
    assert done["Cache-Control"] == "no-store"


def test_report_done_without_a_report_goes_back_to_the_form(client, db):
    assert client.get(reverse("intake:report_done"))["Location"] == reverse("intake:report")


def test_missing_description_rerenders_the_form_and_keeps_what_was_typed(client, geo):
    response = client.post(reverse("intake:report"), report_data(description="  "))
    assert response.status_code == 400
    html = response.content.decode()
    assert "请填写问题描述" in html
    assert "东关大街 12 号门口" in html and "13900001111" in html
    assert f'name="lon" value="{INSIDE_WEST[0]}"' in html
    assert Case.objects.count() == 0


def test_location_outside_the_district_is_refused(client, geo):
    response = client.post(reverse("intake:report"), report_data(lon=str(OUTSIDE[0]), lat=str(OUTSIDE[1])))
    assert response.status_code == 400
    html = response.content.decode()
    assert "位置不在本辖区" in html
    assert "小区门口垃圾堆积三天无人清运" in html
    assert Case.objects.count() == 0


def test_location_is_required(client, geo):
    response = client.post(reverse("intake:report"), report_data(lon="", lat=""))
    assert response.status_code == 400
    assert "请在地图上选择问题位置" in response.content.decode()


def test_non_image_upload_is_refused_and_nothing_is_created(client, geo):
    fake = SimpleUploadedFile("photo.jpg", b"%PDF-1.4 not an image", content_type="image/jpeg")
    response = client.post(reverse("intake:report"), report_data(photo=fake))
    assert response.status_code == 400
    html = response.content.decode()
    assert "只能上传 JPEG、PNG 或 WebP 图片" in html
    assert "小区门口垃圾堆积三天无人清运" in html
    assert Case.objects.count() == 0 and Attachment.objects.count() == 0


def test_gif_is_refused(client, geo):
    from cityops.intake.tests.support import image_bytes

    gif = SimpleUploadedFile("a.gif", image_bytes(fmt="GIF"), content_type="image/gif")
    response = client.post(reverse("intake:report"), report_data(photo=gif))
    assert response.status_code == 400
    assert "只能上传 JPEG、PNG 或 WebP 图片" in response.content.decode()


@override_settings(CITYOPS_MAX_UPLOAD_MB=1)
def test_too_large_upload_is_refused(client, geo):
    from cityops.intake.tests.support import image_bytes

    big = SimpleUploadedFile("big.png", image_bytes(fmt="PNG") + b"\0" * (1024 * 1024 + 10), content_type="image/png")
    response = client.post(reverse("intake:report"), report_data(photo=big))
    assert response.status_code == 400
    assert "上限为 1 MB" in response.content.decode()
    assert Case.objects.count() == 0


def test_bad_phone_number_is_refused(client, geo):
    response = client.post(reverse("intake:report"), report_data(reporter_phone="call me maybe"))
    assert response.status_code == 400
    assert "联系电话格式不正确" in response.content.decode()


@override_settings(CITYOPS_RATE_LIMITS={"report": (3, 3600)})
def test_report_rate_limit_answers_429(client, geo):
    for _ in range(3):
        assert client.post(reverse("intake:report"), report_data()).status_code == 302
    response = client.post(reverse("intake:report"), report_data())
    assert response.status_code == 429
    assert "提交过于频繁" in response.content.decode()
    assert int(response["Retry-After"]) > 0
    assert Case.objects.count() == 3
    # Another address is not affected.
    assert client.post(reverse("intake:report"), report_data(), REMOTE_ADDR="10.0.0.9").status_code == 302


def test_default_rate_limit_is_10_reports_a_minute(client, geo):
    with frozen_ratelimit_clock():
        for _ in range(10):
            client.post(reverse("intake:report"), report_data(description=""))
        assert client.post(reverse("intake:report"), report_data()).status_code == 429
    # The next minute is a new window.
    with frozen_ratelimit_clock(FROZEN + 60):
        assert client.post(reverse("intake:report"), report_data()).status_code == 302


# ---------------------------------------------------------------- tracking


def test_track_page_shows_a_citizen_safe_view(client, geo, category, department):
    case = make_case(category=category, channel=Channel.WEB, reporter_name="王小明", reporter_phone="13512345678",
                     address="幸福路 8 号 3 单元 501", description="楼下烧烤油烟扰民")
    now = timezone.now()
    CaseEvent.objects.create(case=case, created_at=now, action=Action.REGISTER, actor_label="受理员 王芳",
                             note="内部备注：老问题，已多次反映", from_status="new", to_status="registered")
    CaseEvent.objects.create(case=case, created_at=now, action=Action.DISPATCH, department=department,
                             actor_label="派遣员", from_status="registered", to_status="dispatched")
    CaseEvent.objects.create(case=case, created_at=now, action=Action.RETURN, department=department, actor_label="部门",
                             note="非本单位职责", from_status="dispatched", to_status="returned")
    Case.objects.filter(pk=case.pk).update(status=Status.DISPATCHED, department=department)
    response = client.get(reverse("intake:track"), {"code": case.tracking_code.lower()})
    assert response.status_code == 200
    html = response.content.decode()
    assert case.number in html
    assert "已派遣，处置中" in html
    assert "已派遣至 区城市管理局 处置" in html
    for private in ("王小明", "王*", "13512345678", "135****5678", "幸福路", "内部备注", "非本单位职责", "受理员 王芳", "楼下烧烤"):
        assert private not in html, private
    assert response["Cache-Control"] == "no-store"


def test_track_shows_only_public_photos(client, geo, jpeg):
    from cityops.cases.services import attachment_add

    case = make_case()
    attachment = attachment_add(case=case, upload=jpeg(), kind="before")
    attachment_add(case=case, upload=jpeg(), kind="document")
    html = client.get(reverse("intake:track"), {"code": case.tracking_code}).content.decode()
    assert attachment.public_file.url in html
    assert attachment.file.url not in html
    assert html.count("<img ") == 1


def test_unknown_tracking_code_is_a_404_with_a_message(client, db):
    response = client.get(reverse("intake:track"), {"code": "0000000000"})
    assert response.status_code == 404
    assert "未找到该查询码对应的案件" in response.content.decode()


def test_the_case_number_alone_does_not_find_a_case(client, db):
    case = make_case()
    assert client.get(reverse("intake:track"), {"code": case.number}).status_code == 404


@override_settings(CITYOPS_RATE_LIMITS={"track_miss": (2, 3600)})
def test_guessing_tracking_codes_is_rate_limited(client, db):
    case = make_case()
    for code in ("AAAAAAAAAA", "BBBBBBBBBB"):
        assert client.get(reverse("intake:track"), {"code": code}).status_code == 404
    assert client.get(reverse("intake:track"), {"code": case.tracking_code}).status_code == 429


@override_settings(CITYOPS_RATE_LIMITS={"track": (3, 3600)})
def test_tracking_lookups_are_rate_limited_even_when_they_match(client, db):
    case = make_case()
    for _ in range(3):
        assert client.get(reverse("intake:track"), {"code": case.tracking_code}).status_code == 200
    response = client.get(reverse("intake:track"), {"code": case.tracking_code})
    assert response.status_code == 429
    assert "提交过于频繁" not in response.content.decode()  # the lookup page has its own wording
    assert "查询过于频繁" in response.content.decode()
    assert client.get(reverse("intake:track"), {"code": case.tracking_code}, REMOTE_ADDR="10.0.0.9").status_code == 200


def test_track_form_without_code(client, db):
    response = client.get(reverse("intake:track"))
    assert response.status_code == 200
    assert "查询码" in response.content.decode()


# ---------------------------------------------------------------- rating


def test_rating_a_closed_case_once_works_and_a_second_time_is_refused(client, geo, category, department):
    case = closed_case(category=category, department=department)
    page = client.get(reverse("intake:track"), {"code": case.tracking_code}).content.decode()
    assert "评价办理结果" in page and "已清运完毕" not in page  # no respond event: no result milestone
    response = client.post(reverse("intake:rate"), {"code": case.tracking_code, "satisfaction": "satisfied", "comment": "处理很快"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.satisfaction == case.citizen_satisfaction == "satisfied"
    assert case.satisfaction_source == "citizen" and case.satisfaction_at is not None
    assert case.callback_status == "done"  # the result exists: the callback seat need not call
    assert case.status == Status.CLOSED
    event = case.events.get(action=Action.RATE)
    assert event.actor_label == "市民" and event.actor is None
    assert event.payload == {"satisfaction": "satisfied", "result": True}
    assert event.note == "处理很快"
    after = client.get(response["Location"]).content.decode()
    assert "感谢您的评价" in after and "您的评价：满意" in after
    assert "评价办理结果" not in after

    again = client.post(reverse("intake:rate"), {"code": case.tracking_code, "satisfaction": "unsatisfied"})
    assert again.status_code == 409
    assert "已评价过该案件，不能重复评价" in again.content.decode()
    case.refresh_from_db()
    assert case.satisfaction == case.citizen_satisfaction == "satisfied"
    assert case.events.filter(action=Action.RATE).count() == 1


def test_an_open_case_cannot_be_rated(client, db):
    case = make_case()
    response = client.post(reverse("intake:rate"), {"code": case.tracking_code, "satisfaction": "satisfied"})
    assert response.status_code == 409
    assert "尚未办结" in response.content.decode()
    assert not Case.objects.get(pk=case.pk).satisfaction


def test_rating_needs_a_valid_choice(client, db):
    case = closed_case()
    response = client.post(reverse("intake:rate"), {"code": case.tracking_code, "satisfaction": "great"})
    assert response.status_code == 400
    assert "请选择满意度" in response.content.decode()


def test_rating_with_an_unknown_code_is_a_404(client, db):
    response = client.post(reverse("intake:rate"), {"code": "FFFFFFFFFF", "satisfaction": "satisfied"})
    assert response.status_code == 404


def test_citizen_rate_loses_to_a_concurrent_update(db):
    from cityops.cases.errors import Conflict

    case = closed_case()
    Case.objects.filter(pk=case.pk).update(version=case.version + 1)  # someone acted since we read it
    with pytest.raises(Conflict):
        citizen_rate(case, "satisfied")
    assert not Case.objects.get(pk=case.pk).satisfaction
    assert not CaseEvent.objects.filter(case=case, action=Action.RATE).exists()


def test_timeline_shows_public_milestones(client, geo, category, department):
    case = closed_case(category=category, department=department)
    now = timezone.now()
    for action, frm, to in [(Action.REGISTER, "new", "registered"), (Action.DISPATCH, "registered", "dispatched"),
                            (Action.RESPOND, "in_progress", "responded"), (Action.VERIFY, "responded", "closed")]:
        CaseEvent.objects.create(case=case, created_at=now, action=action, from_status=frm, to_status=to,
                                 department=department, actor_label="x", payload={"passed": True} if action == Action.VERIFY else {})
    html = client.get(reverse("intake:track"), {"code": case.tracking_code}).content.decode()
    for text in ("受理", "立案", "已派遣至 区城市管理局 处置", "区城市管理局反馈：已清运完毕", "问题已处置，案件办结", "已办结"):
        assert text in html, text


@override_settings(CITYOPS_RATE_LIMITS={"rate": (1, 3600)})
def test_rating_posts_are_rate_limited(client, db):
    case = closed_case()
    client.post(reverse("intake:rate"), {"code": case.tracking_code, "satisfaction": "bogus"})
    assert client.post(reverse("intake:rate"), {"code": case.tracking_code, "satisfaction": "satisfied"}).status_code == 429


def test_public_photos_are_served_to_anyone_and_originals_never_by_path(client, geo, jpeg):
    from cityops.cases.services import attachment_add

    attachment = attachment_add(case=make_case(), upload=jpeg(), kind="before", keep_gps=True)
    public = client.get(attachment.public_file.url)
    assert public.status_code == 200 and b"".join(public.streaming_content) == attachment.public_file.read()
    assert client.get(attachment.file.url).status_code == 404
    assert client.get("/media/public/../cases/x.jpg").status_code in (400, 404)  # Django refuses the traversal


def test_the_tracking_page_masks_personal_data_typed_into_the_departments_result(client, geo, category, department):
    case = closed_case(category=category, department=department)
    Case.objects.filter(pk=case.pk).update(result="已联系业主王某（13812345678）清运完毕")
    CaseEvent.objects.create(case=case, created_at=timezone.now(), action=Action.RESPOND, from_status="in_progress",
                             to_status="responded", department=department, actor_label="x", payload={})
    html = client.get(reverse("intake:track"), {"code": case.tracking_code}).content.decode()
    assert "138****5678" in html and "13812345678" not in html
