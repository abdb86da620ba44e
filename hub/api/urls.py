from django.urls import path

from hub.api import batch, broadcasts, callbacks, contacts, events, reports, templates, views

# Resolved in order: the endpoints posted to most often first (no two patterns overlap).
urlpatterns = [
    path("notifications", views.NotificationCreateView.as_view(), name="notification-create"),
    path("events", events.EventCreateView.as_view(), name="event-create"),
    path("events/batch", events.EventBatchView.as_view(), name="event-batch"),
    path("notifications/batch", batch.NotificationBatchView.as_view(), name="notification-batch"),
    path(
        "notifications/<uuid:notification_id>",
        views.NotificationDetailView.as_view(),
        name="notification-detail",
    ),
    path(
        "notifications/<uuid:notification_id>/cancel",
        views.NotificationCancelView.as_view(),
        name="notification-cancel",
    ),
    path("messages/<uuid:message_id>", views.MessageDetailView.as_view(), name="message-detail"),
    path("templates", templates.TemplateListView.as_view(), name="template-list"),
    path("reports/templates/<str:key>", reports.TemplateReportView.as_view(), name="report-template"),
    path("contacts", contacts.ContactBulkView.as_view(), name="contact-bulk"),
    path("contacts/<str:external_id>", contacts.ContactDetailView.as_view(), name="contact-detail"),
    path(
        "contacts/<str:external_id>/consents", contacts.ConsentCreateView.as_view(), name="contact-consents"
    ),
    path(
        "contacts/<str:external_id>/preferences",
        contacts.PreferencesView.as_view(),
        name="contact-preferences",
    ),
    path("broadcasts", broadcasts.BroadcastCreateView.as_view(), name="broadcast-create"),
    path("broadcasts/<uuid:broadcast_id>", broadcasts.BroadcastDetailView.as_view(), name="broadcast-detail"),
    path(
        "broadcasts/<uuid:broadcast_id>/cancel",
        broadcasts.BroadcastCancelView.as_view(),
        name="broadcast-cancel",
    ),
    path(
        "broadcasts/<uuid:broadcast_id>/pause",
        broadcasts.BroadcastPauseView.as_view(),
        name="broadcast-pause",
    ),
    path(
        "broadcasts/<uuid:broadcast_id>/resume",
        broadcasts.BroadcastResumeView.as_view(),
        name="broadcast-resume",
    ),
    path("callback", callbacks.CallbackEndpointView.as_view(), name="callback-endpoint"),
    path("journey-runs/<uuid:run_id>", events.JourneyRunDetailView.as_view(), name="journey-run-detail"),
    path(
        "journey-runs/<uuid:run_id>/cancel", events.JourneyRunCancelView.as_view(), name="journey-run-cancel"
    ),
]
