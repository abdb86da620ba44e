from django.urls import path

from hub.webhooks import sendgrid, twilio

urlpatterns = [
    path("twilio/status", twilio.status_callback, name="webhook-twilio-status"),
    path("twilio/inbound", twilio.inbound_sms, name="webhook-twilio-inbound"),
    path("sendgrid/events", sendgrid.events, name="webhook-sendgrid-events"),
]
