"""The one axe-core check of the browser tests: the vendored axe-core 4 (tests/vendor/axe-core,
no CDN, nothing fetched at test time) run in the page with the WCAG 2.0 and 2.1, A and AA rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SOURCE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
WCAG21AA = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
SERIOUS = ("serious", "critical")


def axe_serious(
    driver: Any, *, context: str = "body", tags: tuple[str, ...] = WCAG21AA, report: Path | None = None
) -> list[str]:
    """The serious or critical violations axe-core finds in ``context`` (a CSS selector; by
    default the whole page: header, banner, breadcrumbs, sidebar and content) of the page open
    in ``driver``, with the rules tagged ``tags``: each as "rule (impact): targets", so a failure
    says where to look; when there are some and ``report`` is given, what axe said of each
    element is written there as JSON."""
    driver.set_script_timeout(180)  # the machine is shared; axe takes seconds on a big page
    if not driver.execute_script("return typeof window.axe === 'object';"):
        driver.execute_script(SOURCE.read_text(encoding="utf-8"))
    # WebDriver awaits the promise axe.run returns.
    result = driver.execute_script(
        "return axe.run(arguments[0], {runOnly: {type: 'tag', values: arguments[1]}});", context, list(tags)
    )
    serious = [v for v in result["violations"] if v["impact"] in SERIOUS]
    if serious and report is not None:
        found = [
            {
                "id": v["id"],
                "help": v["help"],
                "nodes": [[n["target"], n["failureSummary"]] for n in v["nodes"]],
            }
            for v in serious
        ]
        report.write_text(json.dumps(found, indent=1))
    return [
        f"{v['id']} ({v['impact']}): {', '.join(str(n['target']) for n in v['nodes'][:5])}" for v in serious
    ]


def axe_check(driver: Any, where: str, *, context: str = "body") -> None:
    """Fails, naming ``where``, on any serious or critical violation of :func:`axe_serious`."""
    found = axe_serious(driver, context=context)
    assert found == [], (where, found)
