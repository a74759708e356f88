from pathlib import Path

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve

from cityops.web.views import favicon

admin.site.site_header = "城运·一网统管 管理后台"
admin.site.site_title = "城运·一网统管"
admin.site.index_title = "基础数据与系统配置"

from config.api import api  # noqa: E402

# Chinese error pages for people, the API's JSON for machines (cityops.web.views).
handler400 = "cityops.web.views.bad_request"
handler403 = "cityops.web.views.permission_denied"
handler404 = "cityops.web.views.page_not_found"
handler500 = "cityops.web.views.server_error"

urlpatterns = [
    path("favicon.ico", favicon),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("open311/v2/", include("cityops.api.open311_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("account/", include("cityops.accounts.urls")),
    path("", include("cityops.ops.urls")),
    path("", include("cityops.desks.urls")),
    path("", include("cityops.routing.urls")),
    path("", include("cityops.analytics.urls")),
    path("", include("cityops.assessment.urls")),
    path("", include("cityops.audit.urls")),
    path("", include("cityops.desks.intake_urls")),
    path("", include("cityops.web.urls")),
]

def public_media(request, path: str):
    return serve(request, path, document_root=Path(settings.MEDIA_ROOT) / "public")


# Public photos (re-encoded copies without metadata, under random names) are for anyone; the
# rest of MEDIA_ROOT (inspectors' originals with their GPS) only through cases:attachment, which
# checks the user's scope. Behind nginx, let it serve media/public/ and set the setting off.
if settings.CITYOPS_SERVE_PUBLIC_MEDIA:
    urlpatterns += [
        re_path(r"^media/public/(?P<path>.+)$", public_media, name="public_media"),
    ]
