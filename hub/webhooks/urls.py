from django.urls import path

from hub.webhooks import push, sendgrid, sendgrid_inbound, twilio

urlpatterns = [
    path("twilio/status", twilio.status_callback, name="webhook-twilio-status"),
    path("twilio/inbound", twilio.inbound_sms, name="webhook-twilio-inbound"),
    path("sendgrid/events", sendgrid.events, name="webhook-sendgrid-events"),
    path("sendgrid/inbound", sendgrid_inbound.inbound_email, name="webhook-sendgrid-inbound"),
    path("push/receipt/<str:token>", push.receipt, name="webhook-push-receipt"),
]
