from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from audit import views as audit_views
from hub import health
from hub.api.problems import api_not_found
from hub.contacts import views as contact_views
from hub.notify import views as notify_views
from hub.tracking import views as tracking_views
from hub.workspace.admin.homes import home_view
from hub.workspace.views import metrics

admin.site.site_header = "Switchboard"
# "View site" in the admin header: the API docs, the one page of the hub outside the admin.
admin.site.site_url = "/api/docs/"
admin.site.site_title = "Switchboard"
admin.site.index_title = "Outbound communications hub"

handler404 = "hub.api.problems.handler404"
handler500 = "hub.api.problems.handler500"

urlpatterns = [
    # First: the API is what is called most often (no pattern below overlaps it).
    path("api/v1/", include("hub.api.urls")),
    # /admin/ itself (``admin:index``) is the home of the viewer's role (hub.workspace.homes).
    path("admin/", admin.site.admin_view(home_view)),
    path("admin/", admin.site.urls),
    path("webhooks/", include("hub.webhooks.urls")),
    # GOV.UK Notify's v2 API (SPEC §10), for Notify's own client libraries.
    path("v2/", include("hub.notify.urls")),
    path(
        "service/<str:service_id>/template/<str:template_id>/versions",
        notify_views.TemplateVersionsView.as_view(),
        name="notify-template-versions",
    ),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("u/<str:token>", contact_views.unsubscribe_page, name="unsubscribe"),
    path("u/<str:token>/preferences", contact_views.preferences_page_save, name="unsubscribe-preferences"),
    # Tracked links and the email open pixel (docs/measurement.md): anything under /l/ gets
    # the redirect or the safe page, anything under /o/ the pixel.
    path("l/<path:token>", tracking_views.link_redirect, name="tracked-link"),
    path("o/<path:token>", tracking_views.open_pixel, name="open-pixel"),
    path("metrics", metrics, name="metrics"),
    path(".well-known/switchboard-audit-key", audit_views.public_key, name="audit-public-key"),
    # Last: any other path under /api/v1/ (e.g. a malformed id) is a problem+json 404, also
    # with DEBUG on, where Django would answer its HTML debug page instead of calling
    # handler404. Only v1: /api/docs without its slash must still be redirected to /api/docs/.
    re_path(r"^api/v1/", api_not_found),
]
