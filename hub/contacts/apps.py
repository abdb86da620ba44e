from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "hub.contacts"
    label = "contacts"
    verbose_name = "Contacts"
