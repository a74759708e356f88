"""The account pages of the admin: no password hash for anyone, roles and grids by name, Chinese throughout."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from cityops.accounts.admin_labels import permission_label
from cityops.accounts.tests.factories import UserFactory
from cityops.geo.models import Region, UnitGrid

pytestmark = pytest.mark.django_db

HASH_PREFIXES = ("pbkdf2_sha256$", "argon2$", "md5$", "bcrypt", "scrypt$")


@pytest.fixture
def grids():
    street = Region.objects.create(code="630102001", name="东关大街街道", level="street")
    north = Region.objects.create(code="630102001001", name="北关社区", level="community", parent=street)
    south = Region.objects.create(code="630102001002", name="南关社区", level="community", parent=street)
    return [
        UnitGrid.objects.create(code="63010200100101", community=north, street=street, boundary={}),
        UnitGrid.objects.create(code="63010200100102", community=north, street=street, boundary={}),
        UnitGrid.objects.create(code="63010200100201", community=south, street=street, boundary={}),
    ]


@pytest.fixture
def inspector(grids):
    user = UserFactory(role="inspector")
    user.grids.add(grids[0])
    return user


def _change_page(client, admin_role: str, target) -> str:
    client.force_login(UserFactory(role=admin_role))
    response = client.get(reverse("admin:accounts_user_change", args=[target.pk]))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("admin_role", ["secadmin", "sysadmin"])
def test_user_change_page_shows_no_password_hash(client, inspector, admin_role):
    html = _change_page(client, admin_role, inspector)
    assert not any(prefix in html for prefix in HASH_PREFIXES)
    assert inspector.password not in html
    assert "已设置" in html and "通过" in html


def test_sysadmin_saving_a_user_keeps_the_password(client, inspector):
    client.force_login(UserFactory(role="sysadmin"))
    before = inspector.password
    response = client.post(reverse("admin:accounts_user_change", args=[inspector.pk]), {
        "username": inspector.username, "display_name": "改名", "phone": "", "email": "",
        "department": "", "grids": [g.pk for g in inspector.grids.all()], "is_active": "on",
    })
    assert response.status_code == 302
    inspector.refresh_from_db()
    assert inspector.display_name == "改名" and inspector.password == before


def test_roles_are_offered_by_their_chinese_names(client, inspector):
    html = _change_page(client, "secadmin", inspector)
    assert "网格员/监督员" in html and "安全管理员" in html
    assert 'type="checkbox" name="groups"' in html


def test_read_only_roles_are_shown_by_their_chinese_names(client, inspector):
    html = _change_page(client, "sysadmin", inspector)
    assert "网格员/监督员" in html
    assert ">inspector<" not in html


def test_grid_picker_renders_the_street_community_tree(client, inspector, grids):
    html = _change_page(client, "sysadmin", inspector)
    assert "data-grid-picker" in html
    assert "东关大街街道" in html and "北关社区" in html and "南关社区" in html
    assert f'name="grids" value="{grids[0].pk}" checked' in html
    assert f'name="grids" value="{grids[2].pk}">' in html
    assert "已选 1 个网格" in html
    assert "按住" not in html.split("data-grid-picker")[1].split("</fieldset>")[0]  # no multi-select help


def test_grid_picker_saves_the_ticked_grids(client, inspector, grids):
    client.force_login(UserFactory(role="sysadmin"))
    response = client.post(reverse("admin:accounts_user_change", args=[inspector.pk]), {
        "username": inspector.username, "display_name": inspector.display_name, "phone": "", "email": "",
        "department": "", "grids": [grids[1].pk, grids[2].pk], "is_active": "on",
    })
    assert response.status_code == 302
    assert set(inspector.grids.all()) == {grids[1], grids[2]}


def test_secadmin_sees_the_grids_by_street_and_community(client, inspector):
    html = _change_page(client, "secadmin", inspector)
    assert "东关大街街道 › 北关社区：1 个网格" in html


def test_role_list_shows_chinese_names_and_filter(client):
    client.force_login(UserFactory(role="secadmin"))
    html = client.get(reverse("admin:auth_group_changelist")).content.decode()
    assert "部门处置人员" in html and "审计管理员" in html
    users = client.get(reverse("admin:accounts_user_changelist")).content.decode()
    assert "?role=inspector" in users and "网格员/监督员" in users


def test_admin_index_has_no_english_otp_names(client):
    client.force_login(UserFactory(role="secadmin"))
    html = client.get(reverse("admin:index")).content.decode()
    assert "OTP_TOTP" not in html and "TOTP devices" not in html and "Otp_Totp" not in html
    assert "动态口令设备" in html
    devices = client.get(reverse("admin:otp_totp_totpdevice_changelist")).content.decode()
    assert "Search by" not in devices and "按用户名或电子邮件地址搜索" in devices


def test_default_permissions_have_chinese_labels(db):
    from cityops.accounts.services import roles_sync

    roles_sync()
    label = permission_label(Permission.objects.get(codename="change_user"))
    assert label == "用户与角色 · 用户 · 可修改用户"
    assert "Can " not in permission_label(Permission.objects.get(codename="view_totpdevice"))


def test_role_page_lists_permissions_in_chinese(client):
    client.force_login(UserFactory(role="secadmin"))
    group = Group.objects.get(name="secadmin")
    html = client.get(reverse("admin:auth_group_change", args=[group.pk])).content.decode()
    assert "可修改角色" in html and "Can change" not in html


def test_admin_javascript_strings_are_chinese(client):
    client.force_login(UserFactory(role="secadmin"))
    js = client.get(reverse("admin:jsi18n")).content.decode()
    assert "选中左侧的".encode("unicode_escape").decode() in js  # the catalogue is JSON-escaped
