"""The WSGI application P3 serves: the hub's own (``hub.wsgi``: its settings, middleware and
process tuning) with the floor views of ``bench.floor`` routed in front of the hub's URLs."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import get_resolver, include, path

import hub.wsgi  # sets Django up (and tunes the process) before the URLconf below is read
from bench.floor import DJANGO_PATH, DRF_PATH, TrivialApiView, bare

urlpatterns: list[Any] = [
    path(DJANGO_PATH.lstrip("/"), bare),
    path(DRF_PATH.lstrip("/"), TrivialApiView.as_view()),
    path("", include("hub.urls")),
]

settings.ROOT_URLCONF = __name__
get_resolver().url_patterns  # noqa: B018 - loads this URLconf now, as hub.wsgi does its own
application = hub.wsgi.application
