"""WSGI entry point for production servers (gunicorn, uwsgi)."""

import os

from django.core.wsgi import get_wsgi_application

from hub.collector import web_collector_tune

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
application = get_wsgi_application()

# Load the URLconf now rather than on the first request, then move everything imported out of
# the collector's sight and collect young objects less often (hub.collector).
web_collector_tune()
