"""WSGI entry point for production servers (gunicorn, uwsgi)."""

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
application = get_wsgi_application()

# Allocations between young-generation collections in a web process (Python's default is 700).
WEB_GC_THRESHOLD = 10_000

# Load the URLconf (and with it the views, DRF and the serializers) now rather than on the
# first request, then move everything imported out of the collector's sight: otherwise each
# full collection walks the whole import graph again. With the young generation collected
# less often, garbage collection went from 0.56 to 0.17 ms of CPU per accepted notification.
get_resolver().url_patterns  # noqa: B018 - loads the URLconf
gc.collect()
gc.freeze()
gc.set_threshold(WEB_GC_THRESHOLD, *gc.get_threshold()[1:])
