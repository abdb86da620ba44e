from django.urls import path

from hub.webhooks import push, sendgrid, twilio

urlpatterns = [
    path("twilio/status", twilio.status_callback, name="webhook-twilio-status"),
    path("twilio/inbound", twilio.inbound_sms, name="webhook-twilio-inbound"),
    path("sendgrid/events", sendgrid.events, name="webhook-sendgrid-events"),
    path("push/receipt/<str:token>", push.receipt, name="webhook-push-receipt"),
]
