"""Reading /metrics as Prometheus does: with its token (the `scraper` fixture in conftest) and
parsed into samples."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

TOKEN = "scrape-secret"


def samples(response: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found
