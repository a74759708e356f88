import pytest
from django.urls import reverse
from PIL import Image

from cityops.accounts.tests.factories import UserFactory
from cityops.cases.models import Attachment, Case, Channel
from cityops.cases.states import Action, Status
from cityops.cases.tests.factories import make_case
from cityops.intake.tests.support import INSIDE_EAST, INSIDE_WEST, OUTSIDE
from cityops.web.navigation import nav_for

pytestmark = pytest.mark.django_db


def responded_case(geo_grid, category, department, description="井盖缺失"):
    case = make_case(category=category, description=description)
    Case.objects.filter(pk=case.pk).update(
        status=Status.RESPONDED, grid=geo_grid, street=geo_grid.street, community=geo_grid.community,
        department=department, result="已更换井盖",
    )
    case.refresh_from_db()
    return case


def gps_exif(lon, lat):
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)

    def dms(value):
        d = int(value)
        m = int((value - d) * 60)
        s = round(((value - d) * 60 - m) * 60, 4)
        return (d, m, s)

    gps.update({1: "N", 2: dms(lat), 3: "E", 4: dms(lon)})
    return exif


def test_non_inspector_gets_403(client, geo):
    for role in ("operator", "department", "leader"):
        client.force_login(UserFactory(role=role))
        for name in ("intake:inspector_home", "intake:inspector_tasks", "intake:inspector_mine"):
            response = client.get(reverse(name))
            assert response.status_code == 403, (role, name)
        assert "仅供网格员" in response.content.decode()


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(reverse("intake:inspector_home"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_inspector_page_renders_camera_and_picker(client, inspector, category):
    client.force_login(inspector)
    response = client.get(reverse("intake:inspector_home"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'capture="environment"' in html and 'accept="image/*"' in html
    assert 'data-autolocate="1"' in html and 'name="coord_system" value="wgs84"' in html
    assert "E9901" in html  # the category select


def test_inspector_report_creates_an_inspector_case_with_the_photo_gps_kept(client, inspector, category, jpeg):
    client.force_login(inspector)
    photo = jpeg(exif=gps_exif(*INSIDE_EAST))
    response = client.post(reverse("intake:inspector_home"), {
        "photo": photo, "category": category.code, "description": "人行道井盖缺失", "address": "",
        "lon": str(INSIDE_WEST[0]), "lat": str(INSIDE_WEST[1]), "coord_system": "wgs84",
    })
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.channel == Channel.INSPECTOR and case.created_by == inspector and case.category == category
    assert case.grid.code == "63010200100101"  # the browser position, not the photo's
    attachment = Attachment.objects.get(case=case)
    assert attachment.kind == "before"
    assert attachment.gps == {"lon": pytest.approx(INSIDE_EAST[0], abs=1e-5), "lat": pytest.approx(INSIDE_EAST[1], abs=1e-5)}
    mine = client.get(reverse("intake:inspector_mine")).content.decode()
    assert case.number in mine


def test_inspector_report_falls_back_on_the_photo_gps(client, inspector, category, jpeg):
    client.force_login(inspector)
    response = client.post(reverse("intake:inspector_home"), {
        "photo": jpeg(exif=gps_exif(*INSIDE_EAST)), "category": category.code, "description": "路灯不亮",
        "lon": "", "lat": "", "coord_system": "wgs84",
    })
    assert response.status_code == 302
    assert Case.objects.get().grid.code == "63010200100102"


def test_inspector_report_needs_photo_category_and_location(client, inspector, category):
    client.force_login(inspector)
    response = client.post(reverse("intake:inspector_home"), {"description": "x", "lon": str(OUTSIDE[0]), "lat": str(OUTSIDE[1])})
    assert response.status_code == 400
    html = response.content.decode()
    assert "请拍摄现场照片" in html and "请选择问题分类" in html
    assert Case.objects.count() == 0


def test_inspector_report_outside_the_district(client, inspector, category, jpeg):
    client.force_login(inspector)
    response = client.post(reverse("intake:inspector_home"), {
        "photo": jpeg(), "category": category.code, "description": "x", "lon": str(OUTSIDE[0]), "lat": str(OUTSIDE[1]),
    })
    assert response.status_code == 400
    assert "位置不在本辖区" in response.content.decode()


def test_inspector_sees_verification_tasks_only_in_own_grids(client, geo, inspector, category, department):
    mine = responded_case(geo.west, category, department, "西片井盖缺失")
    theirs = responded_case(geo.east, category, department, "东片井盖缺失")
    open_in_my_grid = make_case(category=category, description="西片未反馈")
    Case.objects.filter(pk=open_in_my_grid.pk).update(grid=geo.west, status=Status.IN_PROGRESS)
    client.force_login(inspector)
    html = client.get(reverse("intake:inspector_tasks")).content.decode()
    assert mine.number in html
    assert theirs.number not in html
    assert open_in_my_grid.number not in html
    assert client.get(reverse("intake:inspector_task", args=[theirs.number])).status_code == 302
    detail = client.get(reverse("intake:inspector_task", args=[mine.number]))
    assert detail.status_code == 200 and "已更换井盖" in detail.content.decode()


def test_verification_pass_closes_the_case(client, geo, inspector, category, department, jpeg):
    case = responded_case(geo.west, category, department)
    client.force_login(inspector)
    response = client.post(reverse("intake:inspector_task", args=[case.number]), {
        "version": case.version, "passed": "1", "note": "", "photo": jpeg(exif=gps_exif(*INSIDE_WEST)),
    })
    assert response.status_code == 302 and response["Location"] == reverse("intake:inspector_tasks")
    case.refresh_from_db()
    assert case.status == Status.CLOSED and case.closed_at is not None
    event = case.events.get(action=Action.VERIFY)
    assert event.actor == inspector and event.payload == {"passed": True}
    photo = Attachment.objects.get(case=case, kind="verify")
    assert photo.event == event and photo.gps is not None
    listing = client.get(reverse("intake:inspector_tasks")).content.decode()
    assert f"案件 {case.number} 核查通过，已结案" in listing  # the flash message
    assert "暂无待核查的案件" in listing


def test_verification_fail_needs_a_reason_and_sends_the_case_back(client, geo, inspector, category, department):
    case = responded_case(geo.west, category, department)
    client.force_login(inspector)
    url = reverse("intake:inspector_task", args=[case.number])
    refused = client.post(url, {"version": case.version, "passed": "0", "note": ""})
    assert refused.status_code == 400 and "请填写返工原因" in refused.content.decode()
    assert client.post(url, {"version": case.version, "passed": "0", "note": "井盖未固定"}).status_code == 302
    case.refresh_from_db()
    assert case.status == Status.IN_PROGRESS and case.rework_count == 1


def test_verification_with_a_stale_version_is_a_conflict(client, geo, inspector, category, department):
    case = responded_case(geo.west, category, department)
    client.force_login(inspector)
    response = client.post(reverse("intake:inspector_task", args=[case.number]), {"version": case.version - 1, "passed": "1"})
    assert response.status_code == 409
    assert "已被他人更新" in response.content.decode()
    assert Case.objects.get(pk=case.pk).status == Status.RESPONDED


def test_bad_verify_photo_rolls_the_verification_back(client, geo, inspector, category, department):
    from django.core.files.uploadedfile import SimpleUploadedFile

    case = responded_case(geo.west, category, department)
    client.force_login(inspector)
    response = client.post(reverse("intake:inspector_task", args=[case.number]), {
        "version": case.version, "passed": "1", "photo": SimpleUploadedFile("x.jpg", b"not an image"),
    })
    assert response.status_code == 400
    assert Case.objects.get(pk=case.pk).status == Status.RESPONDED


def test_nav_offers_the_inspector_page_to_inspectors_only(db, inspector):
    assert any(item["url"] == "/m/" for item in nav_for(inspector))
    assert not any(item["url"] == "/m/" for item in nav_for(UserFactory(role="operator")))
