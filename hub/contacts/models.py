"""Contacts: the people messages go to, known by the calling service's own id."""

from __future__ import annotations

from django.db import models


class Contact(models.Model):
    external_id = models.CharField(max_length=128, unique=True)
    email = models.CharField(max_length=254, blank=True)
    phone = models.CharField(max_length=20, blank=True, help_text="E.164, e.g. +447911123456")
    locale = models.CharField(max_length=35, blank=True)
    timezone = models.CharField(max_length=64, blank=True, help_text="IANA, e.g. Europe/London")
    attributes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("external_id",)

    def __str__(self) -> str:
        return self.external_id
