from django.urls import path

from hub.api import contacts, templates, views

urlpatterns = [
    path("notifications", views.NotificationCreateView.as_view(), name="notification-create"),
    path(
        "notifications/<uuid:notification_id>",
        views.NotificationDetailView.as_view(),
        name="notification-detail",
    ),
    path("messages/<uuid:message_id>", views.MessageDetailView.as_view(), name="message-detail"),
    path("templates", templates.TemplateListView.as_view(), name="template-list"),
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
]
