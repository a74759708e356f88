"""The leader dashboard (/dashboard/) and the big screen (/bigscreen/).

Views stay thin: parse the period and street, call the selectors, render. The charts are drawn
in the browser by ECharts from the same JSON the /api/v1/stats/ endpoints answer, embedded in
the page (json_script), so the first paint needs no second request.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from cityops.analytics import selectors
from cityops.analytics.anomalies import anomalies
from cityops.analytics.hotissues import hot_issues_latest
from cityops.analytics.periods import COMPARES, KINDS, PeriodError, period_parse
from cityops.analytics.permissions import can_view_reports, can_view_stats
from cityops.analytics.refs import refs
from cityops.analytics.reports import report_period_last
from cityops.analytics.services import bigscreen_session_start


def stats_required(view):
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        if not can_view_stats(request.user):
            return render(request, "cases/403.html", {"message": "态势看板和大屏仅对指挥长、派遣员和受理员开放。"}, status=403)
        return view(request, *args, **kwargs)

    return login_required(wrapped)


@stats_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    params = request.GET
    errors: list[str] = []
    try:
        period = period_parse(params.get("period"), params.get("from"), params.get("to"), params.get("compare"))
    except PeriodError as exc:
        errors.append(exc.message)
        period = period_parse("today")
    street = (params.get("street") or "").strip() or None
    try:
        data = selectors.dashboard(period, street=street)
    except selectors.StatsInputError as exc:
        errors.append(exc.message)
        street = None
        data = selectors.dashboard(period)
    hot = hot_issues_latest()
    alerts = anomalies()
    streets = sorted(((a.code, a.name) for a in refs().streets.values()), key=lambda s: s[0])
    ctx = {
        "data": data, "period": period, "errors": errors, "hot": hot, "alerts": alerts,
        "kinds": KINDS, "compares": COMPARES, "streets": streets, "street": street or "",
        "from": params.get("from") or (period.start.isoformat() if period.kind == "custom" else ""),
        "to": params.get("to") or (period.end.isoformat() if period.kind == "custom" else ""),
    }
    if can_view_reports(request.user):
        ctx.update(can_report=True, weekly=report_period_last("weekly"), monthly=report_period_last("monthly"))
    return render(request, "analytics/dashboard.html", ctx)


@stats_required
@require_GET
def bigscreen(request: HttpRequest) -> HttpResponse:
    session = bigscreen_session_start(request=request)
    data = selectors.bigscreen()
    return render(request, "analytics/bigscreen.html", {"data": data, "session": session})
