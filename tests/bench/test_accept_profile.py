"""``python -m bench.accept_profile`` at a tiny size: every row is measured and counted."""

from __future__ import annotations

import pytest

from bench.accept_profile import accept_profile


@pytest.mark.redis
@pytest.mark.django_db
def test_the_profile_measures_single_accepts_and_a_batch():
    rows = accept_profile(accepts=2, batches=1, batch_size=3, count=1, top=0)
    assert [r.name for r in rows] == ["single, inline number", "single, to a contact", "batch of 3"]
    assert all(r.calls > 0 and r.statements > 0 and r.cpu_ms > 0 for r in rows[:2])
    assert rows[2].items == 3
