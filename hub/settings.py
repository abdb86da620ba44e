"""Switchboard settings: every value comes from the environment, read here and nowhere else.

Development defaults apply only when DEBUG is on. With DEBUG off the hub refuses to
start on the development SECRET_KEY or with an empty ALLOWED_HOSTS, and its system checks
(hub.contacts.checks) refuse missing digest keys or a metrics endpoint without a token.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from audit.digests import DEV_DIGEST_KEYS, digest_keys_parse, legacy_digest_key
from hub.branding import brand_colour_checked

# Lets admin and serializer classes be subscripted with their model at run time (typing).
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("HUB_VAR_DIR", str(BASE_DIR / "var")))


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# --- Django core -----------------------------------------------------------------------
DEBUG = env_bool("DEBUG", False)
DEV_SECRET_KEY = "dev-insecure-switchboard-key-do-not-use-in-production"  # noqa: S105
SECRET_KEY = os.environ.get("SECRET_KEY", "")
# Earlier SECRET_KEY values, still accepted while a rotation settles (Django's signed values,
# and the secrets of GOV.UK Notify-format keys, which are derived from SECRET_KEY).
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")

if DEBUG:
    SECRET_KEY = SECRET_KEY or DEV_SECRET_KEY
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["127.0.0.1", "localhost", "[::1]", "testserver"]
else:
    if not SECRET_KEY or SECRET_KEY == DEV_SECRET_KEY:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set to a private random value when DEBUG is off "
            "(set DEBUG=1 for local development)."
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "ALLOWED_HOSTS must list the host names this hub answers to when DEBUG is off."
        )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "audit",
    "templates_app",
    "hub",
    "hub.contacts",
    "hub.apikeys",
    "hub.providers",
    "hub.messaging",
    "hub.compliance",
    "hub.workspace",
    "hub.broadcasts",
    "hub.callbacks",
    "hub.notify",
    "hub.journeys",
    "hub.tracking",
]

# The Browser* classes are Django's and WhiteNoise's own, passed by on the API's paths, where
# they do nothing (hub/request_paths.py); the viewer's zone applies to the admin only.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "hub.request_paths.BrowserWhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "hub.request_paths.BrowserAuthenticationMiddleware",
    "hub.viewer_zone.ViewerZoneMiddleware",
    "hub.request_paths.BrowserMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "hub.urls"
WSGI_APPLICATION = "hub.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The admin's shell (base_site.html), ahead of django.contrib.admin's own.
        "DIRS": [BASE_DIR / "hub" / "shell"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "hub.branding.brand",
                "hub.workspace.operator.sandbox_context",
            ],
        },
    },
]

# --- Database --------------------------------------------------------------------------
DATABASES: dict[str, dict[str, Any]] = {
    "default": dict(
        dj_database_url.parse(
            os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'switchboard.sqlite3'}",
            conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        )
    )
}
if os.environ.get("MIGRATE_DATABASE_URL"):
    # The schema owner: migrate (and flush) run as it; DATABASE_URL is then a role that may
    # only add to and read the audit tables (hub/dbroles, docs/security/database-roles.md).
    DATABASES["owner"] = dict(dj_database_url.parse(os.environ["MIGRATE_DATABASE_URL"], conn_max_age=0))
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Parameters bound by the server, and a statement a connection has run
    # DATABASE_PREPARE_THRESHOLD times prepared (psycopg keeps the last 100): PostgreSQL then
    # neither parses nor plans it again, and psycopg does not quote every value into the SQL
    # text in Python. Django's default (client-side binding, nothing prepared) suits a pooler
    # in transaction mode: set DATABASE_PREPARE_THRESHOLD=off behind one (docs/deploying.md).
    _prepare = os.environ.get("DATABASE_PREPARE_THRESHOLD", "5").strip().lower()
    if _prepare not in ("off", ""):
        if not _prepare.isdigit():
            raise ImproperlyConfigured(
                f"DATABASE_PREPARE_THRESHOLD must be a whole number of runs (e.g. 5) or 'off', not {_prepare!r}."
            )
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            {"server_side_binding": True, "prepare_threshold": int(_prepare)}
        )
# Data migrations and post_migrate receivers that forget `using` still run as the owner.
DATABASE_ROUTERS = ["hub.dbroles.router.MigratingDatabaseRouter"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker, beat) share the file: wait for locks, don't fail.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# WhiteNoise serves static files from the apps themselves: no collectstatic step, and the
# hub's own pages (admin, Swagger UI) work with DEBUG off and without a CDN.
WHITENOISE_USE_FINDERS = True

# --- Cache (rate limits and caches) ------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
CACHES: dict[str, dict[str, Any]] = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- Celery ----------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "") or "filesystem://"
BROKER_FILESYSTEM_DIR = VAR_DIR / "broker"

# --- Hub -------------------------------------------------------------------------------
HUB_BASE_URL = os.environ.get("HUB_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# The company's name and colour on the pages the public sees (hub.branding).
HUB_BRAND_NAME = os.environ.get("HUB_BRAND_NAME", "Switchboard")
HUB_BRAND_COLOUR = brand_colour_checked(os.environ.get("HUB_BRAND_COLOUR", "#1d4ed8"))
# A message claimed for sending but silent for this long is looked at by the sweeper.
HUB_STUCK_AFTER_SECONDS = int(os.environ.get("HUB_STUCK_AFTER_SECONDS", "120"))
# Messages per send task, and the most a lane's drain claims at a time (hub.messaging.dispatch).
HUB_DISPATCH_BATCH_SIZE = int(os.environ.get("HUB_DISPATCH_BATCH_SIZE", "100"))
# A lane's wake flag lasts this long unless its drain refreshes it: a drain lost with its worker
# or broker delays the lane's next wake by this much at most (the sweeper is the safety net).
HUB_DISPATCH_WAKE_TTL_SECONDS = int(os.environ.get("HUB_DISPATCH_WAKE_TTL_SECONDS", "30"))
# A drain hands what is left in its lane to a fresh task after this long.
HUB_DISPATCH_DRAIN_SECONDS = float(os.environ.get("HUB_DISPATCH_DRAIN_SECONDS", "10"))
# Tasks a worker process reserves ahead (Celery's prefetch multiplier); with batched sends
# each task is a whole batch, so a few are plenty.
HUB_WORKER_PREFETCH = int(os.environ.get("HUB_WORKER_PREFETCH", "4"))
# Beat puts a heartbeat task on every queue this often; a worker that has started no task from
# any of its queues for the liveness window is stale (``manage.py worker_probe``, /metrics).
HUB_WORKER_HEARTBEAT_SECONDS = float(os.environ.get("HUB_WORKER_HEARTBEAT_SECONDS", "15"))
HUB_WORKER_LIVENESS_SECONDS = float(os.environ.get("HUB_WORKER_LIVENESS_SECONDS", "120"))
HUB_MAX_SEND_ATTEMPTS = int(os.environ.get("HUB_MAX_SEND_ATTEMPTS", "5"))
# Seconds before the sandbox reports a message delivered (0: at once).
HUB_SANDBOX_DELIVERY_DELAY = float(os.environ.get("HUB_SANDBOX_DELIVERY_DELAY", "1"))

# --- Services' API (issue 7): idempotency, routing, broadcasts, callbacks ------------------
# An Idempotency-Key's first answer is replayed for this long.
HUB_IDEMPOTENCY_TTL_HOURS = int(os.environ.get("HUB_IDEMPOTENCY_TTL_HOURS", "24"))
# A request holding a key this long without finishing is taken to have died.
HUB_IDEMPOTENCY_LOCK_SECONDS = int(os.environ.get("HUB_IDEMPOTENCY_LOCK_SECONDS", "60"))
# Recipients turned into notifications per transaction when a broadcast fans out.
HUB_BROADCAST_BATCH_SIZE = int(os.environ.get("HUB_BROADCAST_BATCH_SIZE", "1000"))
# How long one release run keeps releasing batches of a broadcast (beat runs every 5 s).
HUB_BROADCAST_RELEASE_SECONDS = float(os.environ.get("HUB_BROADCAST_RELEASE_SECONDS", "4"))
# When a release run's time is up with full batches still coming, queue the next run at once
# (off: the rest waits for the next beat).
HUB_BROADCAST_RELEASE_FOLLOW_UP = os.environ.get("HUB_BROADCAST_RELEASE_FOLLOW_UP", "1") == "1"
# Status callbacks: give up on an event after this long; suspend an endpoint after this many
# failed attempts in a row.
HUB_CALLBACK_RETRY_HOURS = int(os.environ.get("HUB_CALLBACK_RETRY_HOURS", "24"))
HUB_CALLBACK_SUSPEND_AFTER = int(os.environ.get("HUB_CALLBACK_SUSPEND_AFTER", "20"))
# The wall-clock deadline of one callback POST, from connecting to the last byte of the answer.
HUB_CALLBACK_TIMEOUT_SECONDS = float(os.environ.get("HUB_CALLBACK_TIMEOUT_SECONDS", "5"))
# Where a callback may be sent (docs/security/callbacks-and-templates.md): only to public addresses. Private,
# loopback, link-local, unique-local, CGNAT, multicast, reserved and unspecified addresses (and
# the IPv4 address inside an IPv6 one) are refused unless an operator allows their network here;
# this host's own interface addresses and the blocked networks (cloud metadata services) never.
HUB_CALLBACK_ALLOWED_NETWORKS = env_list("HUB_CALLBACK_ALLOWED_NETWORKS", "")
HUB_CALLBACK_BLOCKED_NETWORKS = env_list(
    "HUB_CALLBACK_BLOCKED_NETWORKS",
    "169.254.0.0/16,fe80::/10,fd00:ec2::254/128,168.63.129.16/32,100.100.100.200/32,192.0.0.192/32",
)

# Twilio SMS.
TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")
TWILIO_FROM_NUMBER = os.environ.get("TWILIO_FROM_NUMBER", "")
TWILIO_MESSAGING_SERVICE_SID = os.environ.get("TWILIO_MESSAGING_SERVICE_SID", "")
TWILIO_API_BASE_URL = os.environ.get("TWILIO_API_BASE_URL", "").rstrip("/")
TWILIO_TIMEOUT_SECONDS = float(os.environ.get("TWILIO_TIMEOUT_SECONDS", "10"))

# SendGrid email (provider arrives with the channels work; read here so config stays in one place).
SENDGRID_API_KEY = os.environ.get("SENDGRID_API_KEY", "")
SENDGRID_FROM_EMAIL = os.environ.get("SENDGRID_FROM_EMAIL", "")
SENDGRID_WEBHOOK_PUBLIC_KEY = os.environ.get("SENDGRID_WEBHOOK_PUBLIC_KEY", "")
SENDGRID_API_HOST = os.environ.get("SENDGRID_API_HOST", "")
# Inbound Parse (POST /webhooks/sendgrid/inbound) is protected by HTTP basic auth in the URL
# SendGrid posts to: "user:password". Unset: every inbound email post is refused with 403.
SENDGRID_INBOUND_BASIC_AUTH = os.environ.get("SENDGRID_INBOUND_BASIC_AUTH", "")

# SMTP email (a second email provider, after SendGrid when both are set).
SMTP_HOST = os.environ.get("SMTP_HOST", "")
SMTP_PORT = int(os.environ.get("SMTP_PORT", "587"))
SMTP_USERNAME = os.environ.get("SMTP_USERNAME", "")
SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD", "")
SMTP_USE_TLS = env_bool("SMTP_USE_TLS", True)
SMTP_FROM_EMAIL = os.environ.get("SMTP_FROM_EMAIL", "")

# Provider routing: health window, demotion thresholds, probes; Twilio's rate per sender.
HUB_PROVIDER_HEALTH_WINDOW_SECONDS = int(os.environ.get("HUB_PROVIDER_HEALTH_WINDOW_SECONDS", "60"))
HUB_PROVIDER_HEALTH_MIN_CALLS = int(os.environ.get("HUB_PROVIDER_HEALTH_MIN_CALLS", "5"))
HUB_PROVIDER_HEALTH_MAX_ERROR_RATE = float(os.environ.get("HUB_PROVIDER_HEALTH_MAX_ERROR_RATE", "0.5"))
HUB_PROVIDER_HEALTH_MAX_LATENCY_MS = float(os.environ.get("HUB_PROVIDER_HEALTH_MAX_LATENCY_MS", "5000"))
HUB_PROVIDER_PROBE_SECONDS = int(os.environ.get("HUB_PROVIDER_PROBE_SECONDS", "30"))
TWILIO_RATE_PER_SECOND = float(os.environ.get("TWILIO_RATE_PER_SECOND", "0") or 0)
PUSH_TTL_SECONDS = int(os.environ.get("PUSH_TTL_SECONDS", "86400"))

# Push.
FCM_CREDENTIALS_FILE = os.environ.get("FCM_CREDENTIALS_FILE", "")
FCM_API_BASE_URL = os.environ.get("FCM_API_BASE_URL", "")
VAPID_PRIVATE_KEY = os.environ.get("VAPID_PRIVATE_KEY", "")
VAPID_PUBLIC_KEY = os.environ.get("VAPID_PUBLIC_KEY", "")
VAPID_SUBJECT = os.environ.get("VAPID_SUBJECT", "")

# --- Templates (templates_app) ---------------------------------------------------------
# Lint: SMS longer than this many segments cannot be submitted; cost shown per segment.
TEMPLATES_SMS_MAX_SEGMENTS = int(os.environ.get("TEMPLATES_SMS_MAX_SEGMENTS", "3"))
# The lint's cost estimate asks the hub's price table (docs/measurement.md), as the reports do.
TEMPLATES_SMS_PRICE = "hub.tracking.pricing.sms_segment_estimate"
# Words that count as opt-out wording in marketing SMS (case-insensitive).
TEMPLATES_SMS_OPT_OUT_WORDS = env_list("TEMPLATES_SMS_OPT_OUT_WORDS") or [
    "STOP",
    "opt out",
    "opt-out",
    "unsubscribe",
    "désabonner",
    "desabonner",
]
# How templates_app sends "a test to me" through the hub without importing it.
TEMPLATES_TEST_SEND_FUNCTION = "hub.messaging.test_send.template_test_send"
# ... and reads back what became of each of its messages (status and the decision in words).
TEMPLATES_TEST_OUTCOMES_FUNCTION = "hub.messaging.test_send.template_test_send_outcomes"
# Tells authors and reviewers of submissions and decisions, by email through the hub itself.
TEMPLATES_REVIEW_NOTIFY_FUNCTION = "hub.messaging.review_mail.review_mail_send"
# Sends the one-time code that proves a staff member's test address is theirs.
TEMPLATES_STAFF_CODE_FUNCTION = "hub.messaging.test_send.staff_code_send"
# Per staff member, counted over the last hour: test sends, and verification codes sent.
TEMPLATES_TEST_SENDS_PER_HOUR = int(os.environ.get("TEMPLATES_TEST_SENDS_PER_HOUR", "20"))
TEMPLATES_STAFF_CODES_PER_HOUR = int(os.environ.get("TEMPLATES_STAFF_CODES_PER_HOUR", "5"))


def _default_providers() -> dict[str, list[dict[str, Any]]]:
    """Providers per channel, in priority order; a channel without credentials uses the sandbox."""
    sms: list[dict[str, Any]] = []
    if TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN:
        sms.append(
            {
                "NAME": "twilio",
                "BACKEND": "hub.providers.twilio.TwilioSmsProvider",
                "OPTIONS": {
                    "account_sid": TWILIO_ACCOUNT_SID,
                    "auth_token": TWILIO_AUTH_TOKEN,
                    "from_number": TWILIO_FROM_NUMBER,
                    "messaging_service_sid": TWILIO_MESSAGING_SERVICE_SID,
                    "api_base_url": TWILIO_API_BASE_URL,
                    "timeout": TWILIO_TIMEOUT_SECONDS,
                    "rate_per_second": TWILIO_RATE_PER_SECOND or None,
                },
            }
        )
    email: list[dict[str, Any]] = []
    if SENDGRID_API_KEY and SENDGRID_FROM_EMAIL:
        email.append(
            {
                "NAME": "sendgrid",
                "BACKEND": "hub.providers.sendgrid.SendGridEmailProvider",
                "OPTIONS": {
                    "api_key": SENDGRID_API_KEY,
                    "from_email": SENDGRID_FROM_EMAIL,
                    "api_host": SENDGRID_API_HOST,
                },
            }
        )
    if SMTP_HOST:
        email.append(
            {
                "NAME": "smtp",
                "BACKEND": "hub.providers.smtp.SmtpEmailProvider",
                "OPTIONS": {
                    "host": SMTP_HOST,
                    "port": SMTP_PORT,
                    "username": SMTP_USERNAME,
                    "password": SMTP_PASSWORD,
                    "use_tls": SMTP_USE_TLS,
                    "from_email": SMTP_FROM_EMAIL,
                },
            }
        )
    push: list[dict[str, Any]] = []
    if FCM_CREDENTIALS_FILE:
        push.append(
            {
                "NAME": "fcm",
                "BACKEND": "hub.providers.fcm.FcmPushProvider",
                "OPTIONS": {
                    "credentials_file": FCM_CREDENTIALS_FILE,
                    "api_base_url": FCM_API_BASE_URL,
                    "ttl_seconds": PUSH_TTL_SECONDS,
                },
            }
        )
    if VAPID_PRIVATE_KEY and VAPID_SUBJECT:
        push.append(
            {
                "NAME": "webpush",
                "BACKEND": "hub.providers.webpush.WebPushProvider",
                "OPTIONS": {
                    "vapid_private_key": VAPID_PRIVATE_KEY,
                    "vapid_subject": VAPID_SUBJECT,
                    "ttl_seconds": PUSH_TTL_SECONDS,
                },
            }
        )
    sandbox = "hub.providers.sandbox.SandboxProvider"
    return {
        "sms": sms or [{"NAME": "sandbox-sms", "BACKEND": sandbox, "OPTIONS": {"channel": "sms"}}],
        "email": email or [{"NAME": "sandbox-email", "BACKEND": sandbox, "OPTIONS": {"channel": "email"}}],
        "push": push or [{"NAME": "sandbox-push", "BACKEND": sandbox, "OPTIONS": {"channel": "push"}}],
    }


HUB_PROVIDERS = _default_providers()

# --- Compliance, contacts and preferences ----------------------------------------------------
# Quiet hours use the contact's time zone, else the phone number's region, else this.
HUB_DEFAULT_TIMEZONE = os.environ.get("HUB_DEFAULT_TIMEZONE", "UTC")
# Tracked links (docs/measurement.md): a click this soon after the hand-off is a link
# scanner's, not a person's.
HUB_TRACKING_SCANNER_SECONDS = float(os.environ.get("HUB_TRACKING_SCANNER_SECONDS", "10"))
# Template lint (templates_app may not import hub) calls this to check required content.
TEMPLATES_CONTENT_CHECK = "hub.compliance.content.template_content_problems"
# Consent wording version recorded as evidence by the hosted preferences page.
HUB_PREFERENCES_WORDING = os.environ.get("HUB_PREFERENCES_WORDING", "preferences-v1")
# --- Audit, workspace, reports, metrics ---------------------------------------------------
# The price of one SMS segment while the price table (admin, Measurement → Prices) has no SMS
# row; the table and the providers' reported prices are the price source (docs/measurement.md).
HUB_SMS_COST_PER_SEGMENT = os.environ.get("HUB_SMS_COST_PER_SEGMENT", "0")
# GET /metrics needs "Authorization: Bearer <token>". Unset, it is open only when DEBUG is on;
# with DEBUG off it refuses every scrape.
HUB_METRICS_TOKEN = os.environ.get("HUB_METRICS_TOKEN", "")
# The audit log (audit.sequencer, audit.heads). Beat runs the sequencer this often: it puts
# committed records into the Merkle log, and signs a tree head every HUB_AUDIT_CHECKPOINT_SECONDS.
HUB_AUDIT_SEQUENCER_SECONDS = float(os.environ.get("HUB_AUDIT_SEQUENCER_SECONDS", "1"))
HUB_AUDIT_CHECKPOINT_SECONDS = float(os.environ.get("HUB_AUDIT_CHECKPOINT_SECONDS", "300"))
# The log's name in its signed tree heads (the checkpoint's origin line and the key's name):
# unique to this deployment, no spaces or "+", e.g. "audit.example.com/switchboard".
HUB_AUDIT_LOG_ORIGIN = os.environ.get("HUB_AUDIT_LOG_ORIGIN", "switchboard.invalid/audit")
# The Ed25519 signing key, a PEM PKCS#8 file held outside the database (never stored in it);
# its public half as PEM (derived from the private key when unset). With DEBUG on and no
# file, a fixed development key signs (its heads prove nothing).
HUB_AUDIT_SIGNING_KEY_FILE = os.environ.get("HUB_AUDIT_SIGNING_KEY_FILE", "")
HUB_AUDIT_PUBLIC_KEY = os.environ.get("HUB_AUDIT_PUBLIC_KEY", "")
# After a key rotation: a file of the keys the log signed with before, one verifier key
# (name+id+base64, as /.well-known/switchboard-audit-key showed it) a line, "#" comments. Heads
# they signed still verify, and the well-known path lists them as previous keys.
HUB_AUDIT_TRUSTED_KEYS_FILE = os.environ.get("HUB_AUDIT_TRUSTED_KEYS_FILE", "")
# Every signed tree head is also appended to this file, one JSON object a line (ideally on
# storage the database's admins cannot write, e.g. a WORM bucket mount); verify_audit checks the
# log against it. And POSTed (JSON) to this URL, e.g. a witness or another team's archive.
HUB_AUDIT_TREE_HEAD_FILE = os.environ.get("HUB_AUDIT_TREE_HEAD_FILE", "")
HUB_AUDIT_TREE_HEAD_URL = os.environ.get("HUB_AUDIT_TREE_HEAD_URL", "")
# Checkpoints of the hash chain written before the Merkle log (read by verify_audit --legacy-chain).
HUB_AUDIT_CHECKPOINT_FILE = os.environ.get("HUB_AUDIT_CHECKPOINT_FILE", "")

# --- REST API --------------------------------------------------------------------------
# Requests with an invalid API key, per client address: this many at once, then this many a
# minute (429 beyond); see hub/api/throttling.py. The client's address is REMOTE_ADDR, or
# behind HUB_NUM_PROXIES reverse proxies the one they saw in X-Forwarded-For (hub/client_address.py);
# never X-Forwarded-For as the client wrote it.
HUB_NUM_PROXIES = int(os.environ.get("HUB_NUM_PROXIES", "0"))
HUB_BAD_KEY_BURST = int(os.environ.get("HUB_BAD_KEY_BURST", "20"))
HUB_BAD_KEY_PER_MINUTE = int(os.environ.get("HUB_BAD_KEY_PER_MINUTE", "20"))
REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["hub.apikeys.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "hub.api.permissions.ApiKeyScopes",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["hub.api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_PARSER_CLASSES": ["hub.api.parsers.LimitedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "hub.api.negotiation.JsonContentNegotiation",
    "DEFAULT_SCHEMA_CLASS": "hub.api.schema.ProblemAutoSchema",
    "EXCEPTION_HANDLER": "hub.api.problems.problem_exception_handler",
    "UNAUTHENTICATED_USER": None,
    # 0, not DRF's default None: with None DRF takes a client-written X-Forwarded-For as the address.
    "NUM_PROXIES": HUB_NUM_PROXIES,
}
SPECTACULAR_SETTINGS: dict[str, Any] = {
    "TITLE": "Switchboard API",
    "DESCRIPTION": "Send SMS, email and push through one hub; follow every message.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI's JavaScript and CSS come from the hub (drf-spectacular-sidecar), not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name per choice set shared by several fields (contacts API: channel/channels, category/purpose).
    "ENUM_NAME_OVERRIDES": {
        "ChannelEnum": "hub.api.serializers.CHANNEL_CHOICES",
        "CategoryEnum": "hub.contacts.preferences.CATEGORIES",
        "DeviceKindEnum": "hub.contacts.models.DeviceKind",
    },
}

# --- Logging: no personal data, ever; structured enough to grep -------------------------------
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    # Tracebacks show types and stacks, never exception messages (see hub/logsafe.py).
    "formatters": {
        "plain": {
            "class": "hub.logsafe.SafeFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.server": {"level": "WARNING"},
        # The SDKs log request bodies (numbers, addresses, message texts) at INFO and DEBUG:
        # personal data stays out of logs, whatever LOG_LEVEL says.
        "twilio.http_client": {"level": "WARNING"},
        "python_http_client": {"level": "WARNING"},  # SendGrid's
        # At DEBUG the worker's pool logs each task's raw message body, arguments included.
        "celery.pool": {"level": "INFO"},
        # cel-python logs every evaluation's variables (a contact's fields) at DEBUG.
        "celpy": {"level": "WARNING"},
    },
}

# --- Address digests (audit.digests): keys of their own, never SECRET_KEY ---------------------
# "id:secret,id:secret", newest first: new digests use the first, lookups try them all, so
# rotating SECRET_KEY or adding a digest key never hides a suppression. Parsed once, here.
# Unset with DEBUG on: a development key, then the one that finds a development database's
# digests from before digest keys existed. Unset with DEBUG off: the hub refuses to start.
HUB_DIGEST_KEYS = digest_keys_parse(
    os.environ.get("HUB_DIGEST_KEYS", "")
    or (f"{DEV_DIGEST_KEYS},{legacy_digest_key(SECRET_KEY)}" if DEBUG else "")
)

# --- HTTPS, cookies and proxies (DEBUG off) -------------------------------------------------
# HTTPS only: redirect HTTP, send HSTS, mark cookies secure. 0 only for a plain-HTTP test
# deployment. The probes and the metrics scrape stay reachable over plain HTTP inside the
# network (a load balancer's health check must not be redirected).
HUB_HTTPS_ONLY = env_bool("HUB_HTTPS_ONLY", True)
# X-Forwarded-Proto is trusted only when an operator says a proxy in front sets it (and drops
# what clients send): without a proxy any client could claim its plain request was HTTPS.
HUB_BEHIND_PROXY = env_bool("HUB_BEHIND_PROXY", False)
if HUB_BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG and HUB_HTTPS_ONLY:
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SECURE_HSTS_SECONDS = int(os.environ.get("HUB_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HUB_HSTS_INCLUDE_SUBDOMAINS", True)
    # Preloading asks browsers to hard-code HTTPS for the whole domain, which only the domain's
    # owner can decide: off unless asked for, and then Django's reminder (W021) is moot.
    SECURE_HSTS_PRELOAD = env_bool("HUB_HSTS_PRELOAD", False)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
