from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "hub.contacts"
    label = "contacts"
    verbose_name = "Contacts"

    def ready(self) -> None:
        from hub.contacts import checks  # noqa: F401 - registers the digest key checks
