from django.urls import path

from hub.api import templates, views

urlpatterns = [
    path("notifications", views.NotificationCreateView.as_view(), name="notification-create"),
    path(
        "notifications/<uuid:notification_id>",
        views.NotificationDetailView.as_view(),
        name="notification-detail",
    ),
    path("messages/<uuid:message_id>", views.MessageDetailView.as_view(), name="message-detail"),
    path("templates", templates.TemplateListView.as_view(), name="template-list"),
]
