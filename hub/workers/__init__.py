"""Keeping Celery workers honest: liveness heartbeats and the embedded broker's safe transport."""
