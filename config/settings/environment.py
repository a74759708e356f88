"""The project's own settings, declared once: name, type, default, doc — read from the environment.

`SETTINGS` below is the only place a `CITYOPS_*` setting (and the few project knobs without the
prefix: the lockout, second-factor, session and retention ones) gets its default. `base.py`
loads the table with `load(os.environ)`; `production.py` loads it again with the production
defaults (`production=` column). Code reads `settings.CITYOPS_…`, never
`getattr(settings, "CITYOPS_…", default)`.

Values in the environment are plain strings:

* `int`, `float`: a number (`1_000` style underscores allowed);
* `bool`: `1/true/yes/on` or `0/false/no/off` (any case); empty keeps the default;
* `list`: comma-separated, blanks dropped (`a,b,c`);
* `json`: a JSON object (`CITYOPS_RATE_LIMITS='{"report": "5/m", "login": null}'`);
* `minutes`: whole minutes, becomes a `timedelta`;
* `path`: a file-system path;
* `str`: as given;
* `secret`: as given, or read from the file named by `<NAME>_FILE` (systemd credentials,
  Docker/Kubernetes secrets).

A value that does not parse stops the start with `ImproperlyConfigured` naming the variable
(`CITYOPS_MAX_UPLOAD_MB='ten': expected a whole number`). `cityops settings_doc` writes the
table into docs/deploy.md ("All settings"); a test keeps both in step.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parents[2]

TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off"})


class Kind:
    """How one type is parsed from its environment string and shown in the docs."""

    def __init__(self, name: str, parse: Callable[[str], Any], expected: str, show: Callable[[Any], str] | None = None) -> None:
        self.name = name
        self.parse = parse
        self.expected = expected
        self.show = show or str


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ValueError(raw)


def _list(raw: str) -> list[str]:
    return [item.strip() for item in raw.split(",") if item.strip()]


def _json_object(raw: str) -> dict:
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError(raw)
    return value


def _minutes(raw: str) -> timedelta:
    return timedelta(minutes=int(raw))


def _show_bool(value: bool) -> str:
    return "1" if value else "0"


def _show_list(value: list) -> str:
    return ",".join(str(item) for item in value) if value else "(empty)"


def _show_str(value: Any) -> str:
    return str(value) if value not in ("", None) else "(empty)"


def _show_minutes(value: timedelta) -> str:
    return str(int(value.total_seconds() // 60))


def _show_number(value: float | int) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


INT = Kind("int", int, "a whole number")
FLOAT = Kind("float", float, "a number", _show_number)
BOOL = Kind("bool", _bool, "1/true/yes/on or 0/false/no/off", _show_bool)
LIST = Kind("list", _list, "comma-separated values", _show_list)
JSON = Kind("json", _json_object, 'a JSON object such as {"name": "value"}', lambda v: json.dumps(v, ensure_ascii=False) if v else "{}")
MINUTES = Kind("minutes", _minutes, "whole minutes", _show_minutes)
PATH = Kind("path", Path, "a path")
STR = Kind("str", str, "text", _show_str)
SECRET = Kind("secret", str, "text", lambda v: "(empty)")


@dataclass(frozen=True)
class Setting:
    """One setting: `name` in django.conf.settings, read from `env` (default: the same name).

    `default` is a value or a function of the values loaded before it (`values["VAR_DIR"]`),
    `production` the production profile's default when it differs; `shown` is how a computed
    default reads in the docs; `post` adjusts the parsed value (a floor, a shape); `example`
    is a valid non-default value (docs and tests)."""

    name: str
    kind: Kind
    default: Any
    doc: str
    example: str
    env: str = ""
    production: Any = None
    shown: str = ""
    post: Callable[[Any], Any] | None = None
    group: str = field(default="")

    @property
    def variable(self) -> str:
        return self.env or self.name

    def default_for(self, values: Mapping[str, Any], profile: str) -> Any:
        default = self.production if profile == "production" and self.production is not None else self.default
        return default(values) if callable(default) else default

    def shown_default(self, profile: str = "base") -> str:
        if profile == "production":
            if self.production is None:
                return ""
            if callable(self.production):
                return self.shown
            return self.kind.show(self.production)
        return self.shown if self.shown or callable(self.default) else self.kind.show(self.default)

    def parse(self, raw: str) -> Any:
        try:
            value = self.kind.parse(raw.strip() if self.kind is not SECRET else raw)
            return self.post(value) if self.post else value
        except ValueError:
            raise ImproperlyConfigured(f"{self.variable}={raw!r}: expected {self.kind.expected}. {self.doc}") from None


def _office_hours(spans: list[str]) -> list[tuple[str, ...]]:
    hours = [tuple(span.split("-")) for span in spans]
    if any(len(pair) != 2 for pair in hours):
        raise ValueError(spans)
    return hours


def _roles(values: list[str]) -> list[str]:
    # `none` is the explicit "no role" (the production profile then needs CITYOPS_ALLOW_NO_OTP=1).
    return [] if [v.lower() for v in values] == ["none"] else values


PROXIES = "CITYOPS_TRUSTED_PROXIES"
S = Setting
SETTINGS: tuple[Setting, ...] = (
    # ---- installation
    S("VAR_DIR", PATH, BASE_DIR / "var", "Where the embedded database, keys, reports and media live by default.",
      "/srv/cityops/var", env="CITYOPS_VAR_DIR", shown="var/ in the checkout", group="installation"),
    S("CITYOPS_DISTRICT_CODE", STR, "630102", "The district this installation serves (GB/T 2260 code).", "630103", group="installation"),
    S("CITYOPS_OFFICE_HOURS", LIST, ["08:30-12:00", "14:00-18:00"],
      "Office hours for 工作时 arithmetic: HH:MM-HH:MM spans on working days.", "09:00-12:00,13:30-17:30",
      post=_office_hours, shown="08:30-12:00,14:00-18:00", group="installation"),
    S("CITYOPS_REPORT_DIR", PATH, lambda v: v["VAR_DIR"] / "reports",
      "Stored weekly/monthly analysis reports, served only through the signed-in /reports/ pages; with several app servers a directory they all share.",
      "/srv/cityops/reports", shown="VAR_DIR/reports", group="installation"),
    S("CITYOPS_SERVE_PUBLIC_MEDIA", BOOL, True, "The application serves media/public/ itself unless a web server does it.", "0", group="installation"),
    S("CITYOPS_SQLITE_BUSY_TIMEOUT", INT, 30, "Embedded SQLite only: seconds a writer waits for the write lock.", "60", group="installation"),
    S("CITYOPS_CSP_IMG_ORIGINS", LIST, [], "Extra origins images may load from (Content-Security-Policy img-src), e.g. a map tile server.",
      "https://tiles.example.gov.cn", group="installation"),
    S("CITYOPS_SHARED_DATA_DIR", PATH, BASE_DIR.parent / "shared" / "data",
      "The shared data folder (raw district geometry, complaint corpora) read by a few tests and benchmarks, which skip when it is absent.",
      "/srv/shared/data", shown="../shared/data beside the checkout", group="installation"),
    S("CITYOPS_BENCHMARK_ENDPOINTS", BOOL, False, "The tiny insert endpoint the intake benchmark uses as its ceiling; never on in a deployment.", "1",
      group="installation"),
    # ---- identification & authentication (等保 2.0 身份鉴别)
    S("AXES_FAILURE_LIMIT", INT, 5, "Failed passwords or second-factor codes that lock an account from one address.", "3", group="authentication"),
    S("CITYOPS_ACCOUNT_FAILURE_LIMIT", INT, 10, "Failures from all addresses together that lock an account everywhere.", "20", group="authentication"),
    S("AXES_COOLOFF_TIME", MINUTES, timedelta(minutes=15), "Length of a lock, counted from the failure that set it.", "30",
      env="AXES_COOLOFF_MINUTES", group="authentication"),
    S("CITYOPS_PASSWORD_MIN_LENGTH", INT, 10, "Password policy: minimum length.", "12", group="authentication"),
    S("CITYOPS_PASSWORD_MIN_CLASSES", INT, 3, "Password policy: character classes (upper/lower/digit/symbol) required.", "4", group="authentication"),
    S("CITYOPS_PASSWORD_HISTORY", INT, 5, "Password policy: the last N passwords cannot be reused.", "8", group="authentication"),
    S("CITYOPS_PASSWORD_MAX_AGE_DAYS", INT, 90, "Password policy: days before a password must be changed; 0 never.", "180", group="authentication"),
    S("CITYOPS_RESET_PASSWORD_HOURS", FLOAT, 72, "Hours the initial password of an administrator's reset stays valid (it must be changed at the first sign-in).", "24",
      group="authentication"),
    S("CITYOPS_SESSION_IDLE_MINUTES", INT, 30, "Sessions end after this much inactivity (SESSION_COOKIE_AGE caps their whole life).", "15",
      group="authentication"),
    S("CITYOPS_SESSION_PASSIVE_VIEWS", LIST, ["cases:notification_count"],
      "URL names of background polls that neither count as activity nor keep a session alive.", "cases:notification_count,web:ping",
      group="authentication"),
    S("CITYOPS_SINGLE_SESSION", BOOL, False, "On: a new login ends the account's other sessions.", "1", group="authentication"),
    S("SESSION_COOKIE_AGE", INT, 8 * 3600, "Seconds a session lives at most, however active.", "14400", group="authentication"),
    S("OTP_REQUIRED_ROLES", LIST, [], "Roles that must sign in with a TOTP second factor; `none` for no role (production: needs CITYOPS_ALLOW_NO_OTP=1).",
      "sysadmin,secadmin", production=["sysadmin", "secadmin", "auditor", "leader"], post=_roles, group="authentication"),
    S("CITYOPS_ALLOW_NO_OTP", BOOL, False, "Waiver for running production with fewer (or no) second-factor roles; check --deploy then warns.", "1",
      group="authentication"),
    S("OTP_TOTP_ISSUER", STR, "城运·一网统管", "Issuer name shown in authenticator apps.", "城运平台", group="authentication"),
    S("CITYOPS_OTP_ENROLMENT_CODE_FOR_ALL", BOOL, False,
      "Binding an authenticator the first time needs an enrolment code for every account, not only OTP_REQUIRED_ROLES.", "1",
      production=True, group="authentication"),
    S("CITYOPS_OTP_ENROLMENT_CODE_HOURS", INT, 72, "Hours an enrolment code is valid.", "24", group="authentication"),
    S("CITYOPS_TRUSTED_PROXIES", LIST, [],
      "Reverse proxies whose X-Forwarded-For is believed (addresses or networks); empty: REMOTE_ADDR is the client.",
      "10.0.0.5,10.0.1.0/24", group="authentication"),
    S("CITYOPS_RATE_LIMITS", JSON, {}, "Rate limits as JSON {scope: \"count/period\" or null to switch one off}; scopes and defaults in cityops.common.ratelimit.DEFAULT_RATES.",
      '{"report": "5/m"}', group="authentication"),
    # ---- uploads and imports
    S("CITYOPS_MAX_UPLOAD_MB", INT, 10, "Largest photo or attachment, in MB.", "20", group="uploads"),
    S("CITYOPS_MAX_IMAGE_PIXELS", INT, 40_000_000, "Photos with more pixels are refused from their header, before decoding (decompression bombs; 40 MP is above what phones save by default); Pillow's own guard is set to the same number.",
      "24000000", group="uploads"),
    S("CITYOPS_MAX_XLSX_UNCOMPRESSED_MB", INT, 1024, "Spreadsheet imports: an .xlsx may unpack to at most this many MB.", "512", group="uploads"),
    S("CITYOPS_IMPORT_MAX_ROWS", INT, 200_000, "Spreadsheet imports: most rows in one file.", "50000", group="uploads"),
    S("CITYOPS_IMPORT_MAX_MB", INT, 50, "Spreadsheet imports: largest file, in MB.", "20", group="uploads"),
    S("CITYOPS_IMPORT_INLINE_BYTES", INT, 256 * 1024, "Imports up to this size run in the request; larger ones in the background.", "65536",
      group="uploads"),
    S("CITYOPS_IMPORT_INLINE", BOOL, False, "Run every import within the upload request, whatever its size (no background thread).", "1", group="uploads"),
    # ---- connecting other systems (docs/integration.md)
    S("CITYOPS_API_TOKEN_HOURS", FLOAT, 8, "Hours an API token (POST /api/v1/auth/token) is valid.", "4", group="integration"),
    S("CITYOPS_INGEST_MAX_BYTES", INT, 16 * 1024 * 1024, "Largest intake request body, in bytes.", "1048576", group="integration"),
    S("CITYOPS_ALARM_DEDUPE_MINUTES", FLOAT, 30, "Alarms of one device and type within this many minutes join one case.", "5", group="integration"),
    S("CITYOPS_WEBHOOK_MAX_ATTEMPTS", INT, 10, "Delivery attempts of one webhook before it is given up.", "4", group="integration"),
    S("CITYOPS_WEBHOOK_TIMEOUT", FLOAT, 10, "Seconds one webhook delivery may take.", "5", group="integration"),
    S("CITYOPS_WEBHOOK_RUN_SECONDS", FLOAT, 60, "Seconds one run of the webhooks job may spend delivering.", "30", group="integration"),
    S("CITYOPS_WEBHOOK_ALLOWED_HOSTS", LIST, [],
      "Hosts webhook targets may point at: names, *.suffix, addresses or networks; empty allows none.",
      "hooks.example.gov.cn,10.8.0.0/24", group="integration"),
    S("CITYOPS_WEBHOOK_REQUIRE_HTTPS", BOOL, True, "Webhook targets must be https; off only for development.", "0", group="integration"),
    S("CITYOPS_OPEN311_JURISDICTION", STR, "", "Open311 jurisdiction_id; empty: the district code.", "xining.chengdong", group="integration"),
    S("CITYOPS_OPEN311_CHANNELS", LIST, ["city_platform", "hotline", "web", "open311", "api"],
      "Open311 publishes cases of these channels only (inspector never).", "web,iot", group="integration"),
    S("CITYOPS_OPEN311_COORD_DECIMALS", INT, 3, "Open311: citizens' coordinates rounded to this many decimals (3 ≈ 100 m).", "2",
      group="integration"),
    S("CITYOPS_OPEN311_SHOW_DEPARTMENT", BOOL, False, "Open311 publishes the handling department's name.", "1", group="integration"),
    S("CITYOPS_OPEN311_CONTACT", STR, "城市运行管理指挥中心 12345", "Open311 discovery: the contact.", "城东区城运中心 12345",
      group="integration"),
    S("CITYOPS_OPEN311_ENDPOINT_TYPE", STR, "production", "Open311 discovery: the endpoint type (production or test).", "test",
      group="integration"),
    S("AUDIT_API_KEY_WINDOW_MINUTES", INT, 60, "One audit entry per API key per this many minutes; every call is in the API call log.", "15",
      group="integration"),
    # ---- workflow
    S("CITYOPS_RETURN_NEEDS_ACCEPTANCE", BOOL, True, "A department's return (退单) waits for the dispatcher's acceptance.", "0", group="workflow"),
    S("CITYOPS_CALLBACK_MAX_ATTEMPTS", INT, 3, "Unanswered callback (回访) attempts before a closed case leaves the queue as 无法联系.", "5",
      group="workflow"),
    S("CITYOPS_ESCALATE_AFTER_HOURS", FLOAT, 24, "Overdue cases are escalated to the leaders this many hours past the deadline.", "12",
      group="workflow"),
    S("CITYOPS_ESCALATE_LOOKBACK_HOURS", FLOAT, 72, "A first escalation run (no watermark yet) looks back this many hours.", "48",
      group="workflow"),
    # ---- background work (docs/deploy.md "Workers")
    S("CITYOPS_EVENT_FANOUT", STR, "inline", "Derived work of case events: inline (in the request, after commit) or deferred (outbox, fanout job).",
      "deferred", production="deferred", group="jobs"),
    S("CITYOPS_FANOUT_SECONDS", FLOAT, lambda v: 1.0 if v["CITYOPS_EVENT_FANOUT"] == "deferred" else 60.0,
      "Seconds between runs of the fanout job.", "5", production=1.0, shown="1 if deferred, else 60", group="jobs"),
    S("CITYOPS_SLA_SCAN_SECONDS", FLOAT, 60, "Seconds between SLA scans.", "30", group="jobs"),
    S("CITYOPS_ESCALATE_SECONDS", FLOAT, 60, "Seconds between escalation runs.", "120", group="jobs"),
    S("CITYOPS_WEBHOOK_SECONDS", FLOAT, 10, "Seconds between webhook delivery runs.", "5", group="jobs"),
    S("CITYOPS_ROLLUP_SECONDS", FLOAT, 300, "Seconds between dashboard rollup runs.", "600", group="jobs"),
    S("CITYOPS_REPORT_SECONDS", FLOAT, 3600, "Seconds between runs of the stored-reports job.", "7200", group="jobs"),
    S("CITYOPS_RETRAIN_SECONDS", FLOAT, 86400, "Seconds between checks whether the routing model is due for retraining.", "43200", group="jobs"),
    S("CITYOPS_PRIVACY_SECONDS", FLOAT, 86400, "Seconds between runs of the personal-data retention job.", "43200", group="jobs"),
    S("CITYOPS_SLA_SCAN_CONNECTIONS", INT, 2, "Database connections a large SLA catch-up uses in parallel.", "3", group="jobs"),
    S("CITYOPS_JOB_LOCK_WAIT_SECONDS", FLOAT, 10, "PostgreSQL: seconds a job waits for the lock of another run of itself (a killed worker's) before it skips.", "30", group="jobs"),
    S("CITYOPS_CACHE_RETRY_SECONDS", FLOAT, 5, "Redis down: seconds before the cache tries it again.", "7", group="jobs"),
    S("CITYOPS_GEO_INDEX_CHECK_SECONDS", FLOAT, 1.0, "Seconds between checks whether the boundary index changed.", "5", group="jobs"),
    S("CITYOPS_INPROCESS_SCHEDULER", BOOL, lambda v: not v["REDIS_URL"],
      "Run the periodic jobs inside the web process (no Celery).", "0", shown="1 without REDIS_URL", group="jobs"),
    # ---- routing model retraining (routing/README.md)
    S("CITYOPS_RETRAIN_INTERVAL_DAYS", FLOAT, 7, "Retrain when the newest history model is this many days old…", "14", group="routing"),
    S("CITYOPS_RETRAIN_MIN_NEW_LABELS", INT, 200, "…and this many cases were dispatched since.", "500", group="routing"),
    S("CITYOPS_RETRAIN_WINDOW_DAYS", FLOAT, 365, "Days of dispatch history a retrain learns from.", "180", group="routing"),
    S("CITYOPS_RETRAIN_ACTIVATE", BOOL, True, "Activate a retrained model that is not worse than the current one.", "0", group="routing"),
    S("CITYOPS_RETRAIN_MAX_DROP", FLOAT, 0.02, "Largest accuracy drop a retrained model may show and still be activated.", "0.05",
      group="routing"),
    S("CITYOPS_RETRAIN_ALGORITHM", STR, None, "Classifier of the retrained model; empty: the default model.", "nb", shown="(empty)",
      group="routing"),
    # ---- audit and personal data (等保 2.0)
    S("AUDIT_RETENTION_DAYS", INT, 183, "Audit entries are kept at least this many days; below 183 is raised to 183.", "365",
      post=lambda days: max(183, days), group="audit"),
    S("PERSONAL_DATA_RETENTION_MONTHS", INT, 24, "Reporters' personal data of cases closed longer ago is anonymised daily; 0 disables.", "36",
      group="audit"),
    S("CITYOPS_AUDIT_HMAC_KEY", SECRET, "", "The audit chain's HMAC key (or a file named by CITYOPS_AUDIT_HMAC_KEY_FILE); required in production.",
      "an-audit-key-of-at-least-32-characters-xxxx", group="audit"),
    S("CITYOPS_AUDIT_HMAC_KEYS", SECRET, "", "Retired audit keys, comma- or line-separated (or CITYOPS_AUDIT_HMAC_KEYS_FILE).", "old-key-1,old-key-2",
      group="audit"),
)
DECLARED = {setting.name: setting for setting in SETTINGS}

# Variables read by commands and scripts rather than by settings (docs/deploy.md names them).
COMMAND_VARIABLES = {
    "CITYOPS_DEMO_PASSWORD": "cityops demo: the demo accounts' password",
    "CITYOPS_INITIAL_PASSWORD_": "cityops demo --admin-initial-passwords: CITYOPS_INITIAL_PASSWORD_<USERNAME>",
    "CITYOPS_RUN_PROD_DEMO": "make run-prod: 0 skips loading the demo",
    "CITYOPS_STATICFILES_STORAGE": "production profile: the static files storage class (throw-away benchmark servers)",
    "CITYOPS_TEST_REDIS_URL": "the test suite's Redis",
    "CITYOPS_AUDIT_HMAC_KEY_FILE": "file holding CITYOPS_AUDIT_HMAC_KEY",
    "CITYOPS_AUDIT_HMAC_KEYS_FILE": "file holding CITYOPS_AUDIT_HMAC_KEYS",
}


def _read_secret(name: str, environ: Mapping[str, str]) -> str | None:
    value = environ.get(name, "").strip()
    path = environ.get(f"{name}_FILE", "").strip()
    if not value and path:
        try:
            value = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={path} cannot be read: {exc.strerror}") from None
    return value or None


def load(environ: Mapping[str, str], profile: str = "base", context: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every declared setting's value: from `environ` when set (and not empty), else its default
    for `profile` ("base" or "production"). `context` gives values defaults may depend on
    (REDIS_URL). A value that does not parse raises ImproperlyConfigured naming the variable."""
    values: dict[str, Any] = {"REDIS_URL": environ.get("REDIS_URL", ""), **(context or {})}
    loaded: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = _read_secret(setting.variable, environ) if setting.kind is SECRET else environ.get(setting.variable)
        if raw is None or not raw.strip():
            value = setting.default_for(values, profile)
            if setting.post and value is not None:
                value = setting.post(value)
        else:
            value = setting.parse(raw)
        values[setting.name] = loaded[setting.name] = value
    return loaded


def documentation() -> str:
    """The docs/deploy.md "All settings" table, generated from SETTINGS."""
    lines = [
        "| variable | type | default | production | meaning |",
        "|---|---|---|---|---|",
    ]
    for setting in SETTINGS:
        name = f"`{setting.variable}`" + (f" (`{setting.name}`)" if setting.env else "")
        production = setting.shown_default("production")
        lines.append(
            f"| {name} | {setting.kind.name} | `{setting.shown_default()}` | {f'`{production}`' if production else ''} | {setting.doc} |"
        )
    return "\n".join(lines) + "\n"


DOC_BEGIN = "<!-- settings:begin — generated by `cityops settings_doc` from config/settings/environment.py; do not edit -->"
DOC_END = "<!-- settings:end -->"
DEPLOY_DOC = BASE_DIR / "docs" / "deploy.md"


def with_documentation(text: str) -> str:
    """`text` (docs/deploy.md) with the block between DOC_BEGIN and DOC_END regenerated."""
    if DOC_BEGIN not in text or DOC_END not in text:
        raise ValueError(f"{DEPLOY_DOC.name} has no {DOC_BEGIN!r} … {DOC_END!r} block")
    head, rest = text.split(DOC_BEGIN, 1)
    _, tail = rest.split(DOC_END, 1)
    return f"{head}{DOC_BEGIN}\n{documentation()}{DOC_END}{tail}"
