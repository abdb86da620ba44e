"""Single-core figures: template renders per second (and, as they land, decisions and audit checks)."""

from __future__ import annotations

import time

from bench.fixtures import BENCH_DATA, bench_template
from templates_app.rendering import variant_render


def renders_per_second(*, count: int) -> float:
    """Render the bench SMS variant ``count`` times with its compiled template cached."""
    template = bench_template()
    assert template.live_version is not None  # noqa: S101 - bench_template makes it live
    variant = template.live_version.variants.get()
    variant_render(variant, BENCH_DATA)  # compile once, as a worker does
    started = time.perf_counter()
    for _ in range(count):
        variant_render(variant, BENCH_DATA)
    return count / (time.perf_counter() - started)
