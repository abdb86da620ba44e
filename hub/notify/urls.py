from django.urls import path, re_path

from hub.notify import views
from hub.notify.errors import notify_path_not_found

# Ids are matched as any segment so that a malformed one gets Notify's ValidationError.
urlpatterns = [
    path("notifications/sms", views.SmsView.as_view(), name="notify-sms"),
    path("notifications/email", views.EmailView.as_view(), name="notify-email"),
    path("notifications/letter", views.LetterView.as_view(), name="notify-letter"),
    path("notifications/<str:notification_id>/pdf", views.NotificationPdfView.as_view(), name="notify-pdf"),
    path("notifications/<str:notification_id>", views.NotificationView.as_view(), name="notify-notification"),
    path("notifications", views.NotificationListView.as_view(), name="notify-notifications"),
    path(
        "template/<str:template_id>/version/<int:version>",
        views.TemplateVersionView.as_view(),
        name="notify-template-version",
    ),
    path(
        "template/<str:template_id>/preview",
        views.TemplatePreviewView.as_view(),
        name="notify-template-preview",
    ),
    path("template/<str:template_id>", views.TemplateView.as_view(), name="notify-template"),
    path("templates", views.TemplateListView.as_view(), name="notify-templates"),
    path("received-text-messages", views.ReceivedTextsView.as_view(), name="notify-received-texts"),
    re_path(r"", notify_path_not_found),
]
