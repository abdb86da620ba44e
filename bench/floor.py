"""The floor under P3 and P7: what the same deployment costs to answer a request that does no
work of the hub's.

gunicorn serves ``bench.floor_wsgi:application``: the hub's own WSGI application (``hub.wsgi``, the
same settings, middleware and process tuning) with two more routes in front of the hub's URLs:

- ``POST /bench/floor/django``: a bare Django view answering a fixed 202 body (WSGI, the
  middleware, URL resolution);
- ``POST /bench/floor/drf``: a DRF view with the API's defaults (API key authentication through
  its cache, scopes, rate throttle, the JSON parser and renderer) parsing the same body as an
  accept and answering a small 202.

The load generator posts the accept's body to each, on the same connections, as P3 does. An
accept can go no faster than the DRF floor; the docs say what fraction of it it reaches.
Bench only: the product's URLconf never holds these routes.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

DJANGO_PATH = "/bench/floor/django"
DRF_PATH = "/bench/floor/drf"
FLOORS = {"django": DJANGO_PATH, "drf": DRF_PATH}


@csrf_exempt
def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b'{"ok": true}', content_type="application/json", status=202)


class TrivialApiView(APIView):
    required_capability = "send"

    def post(self, request: Request) -> Response:
        return Response({"ok": True, "fields": len(request.data)}, status=202)
