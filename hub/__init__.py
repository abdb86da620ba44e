"""Switchboard: one hub for a company's outbound SMS, email and push."""

from hub.celery import app as celery_app

__all__ = ["celery_app"]
