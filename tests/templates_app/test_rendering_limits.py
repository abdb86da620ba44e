"""Template code cannot exhaust a process: output size, loop iterations, calls and time are
limited while rendering, so a payload is refused before it allocates or runs long.

Each payload renders in a child process, with a hard time limit (a render that never ends
fails the test instead of hanging it) and an address-space limit (so a payload this code
failed to stop cannot take the machine down); the child measures its allocations with
tracemalloc.
"""

from __future__ import annotations

import multiprocessing
import resource
import time
import tracemalloc
from multiprocessing.connection import Connection

import pytest

from templates_app.rendering import RenderError, limits
from templates_app.rendering.core import variant_render
from tests.templates_app.conftest import variant

HARD_SECONDS = 10  # a render still running then is killed and fails the test
MAX_SECONDS = limits.MAX_SECONDS + 1  # a refused render ends at the deadline at the latest
MAX_ALLOCATED = 16 * 1024 * 1024  # peak bytes allocated while rendering
ADDRESS_SPACE = 2 * 1024**3


def _render_in_child(source: str, html: bool, overrides: dict[str, float], out: Connection) -> None:
    for name, value in overrides.items():
        setattr(limits, name, value)
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
    tracemalloc.start()
    started = time.monotonic()
    fields = {"html": source, "subject": "s"} if html else {"text": source}
    try:
        variant_render(variant("email" if html else "sms", **fields), {}, layout={}, specs=[])
        outcome = "rendered"
    except RenderError as exc:
        outcome = f"RenderError: {exc}"
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which fails the test
        outcome = f"{type(exc).__name__}"
    peak = tracemalloc.get_traced_memory()[1]
    out.send((outcome, peak, time.monotonic() - started))


def render_isolated(
    source: str, *, html: bool = False, overrides: dict[str, float] | None = None
) -> tuple[str, int, float]:
    """(outcome, peak bytes allocated, seconds) of rendering ``source`` in a child process
    (with ``overrides`` of the limits there)."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_render_in_child, args=(source, html, overrides or {}, send))
    child.start()
    try:
        if not receive.poll(HARD_SECONDS):
            pytest.fail(f"the render was still running after {HARD_SECONDS} s")
        outcome, peak, seconds = receive.recv()
        return str(outcome), int(peak), float(seconds)
    finally:
        child.kill()
        child.join()


def doubled(start: str, times: int, how: str) -> str:
    steps = "".join(how for _ in range(times))
    return f"{{% set s = {start} %}}{steps}{{{{ s|length }}}}"


PAYLOADS = {
    "printf width": "{{ '%0150000000d' % 1 }}",
    "printf star width": "{{ '%*d' % (150000000, 1) }}",
    "printf precision": "{{ '%.150000000f' % 1 }}",
    "format width": "{{ '{:>150000000}'.format(1) }}",
    "format nested width": "{{ '{0:{1}}'.format(1, 150000000) }}",
    "format_map width": "{{ '{a:150000000}'.format_map({'a': 1}) }}",
    "ljust": "{{ 'a'.ljust(150000000) }}",
    "rjust": "{{ 'a'.rjust(150000000) }}",
    "center": "{{ 'a'.center(150000000) }}",
    "zfill": "{{ '1'.zfill(150000000) }}",
    "expandtabs": "{{ '\t'.expandtabs(150000000) }}",
    "str.join of a big list": "{{ ','.join(['a' * 10000] * 10000)|length }}",
    "join filter of a big list": "{{ (['a' * 10000] * 10000)|join|length }}",
    "join filter with a big separator": "{{ range(1000)|join('a' * 10000)|length }}",
    "replace method": "{% set x = 'a' * 5000 %}{{ x.replace('a', x)|length }}",
    "~ doubling": doubled("'a' * 10000", 15, "{% set s = s ~ s %}"),
    "+ doubling": doubled("'a' * 10000", 15, "{% set s = s + s %}"),
    "block set doubling": doubled("'a' * 10000", 15, "{% set s %}{{ s }}{{ s }}{% endset %}"),
    "list + doubling": doubled("['a'] * 10000", 15, "{% set s = s + s %}"),
    "list mutation": "{% set l = [1] %}{% for i in range(40) %}{{ l.extend(l) }}{% endfor %}",
    "power tower": "{{ ((((10 ** 64) ** 64) ** 64) ** 64) ** 64 }}",
    "four nested loops": "{% for a in range(60) %}{% for b in range(60) %}{% for c in range(60) %}"
    "{% for d in range(60) %}{% endfor %}{% endfor %}{% endfor %}{% endfor %}",
    "six nested loops": "".join("{% for x in range(60) %}" for _ in range(6)) + "{% endfor %}" * 6,
    "macro fan-out": "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
    "{{ f(40) }}",
    "macro recursion": "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    "recursive loop": "{% for x in [1] recursive %}{{ loop([1, 2]) }}{% endfor %}",
}


@pytest.mark.parametrize("source", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_exhausting_template_code_is_refused_while_rendering(source):
    outcome, peak, seconds = render_isolated(source)
    assert outcome.startswith("RenderError"), outcome
    assert peak < MAX_ALLOCATED, f"{peak / 2**20:.0f} MB allocated before refusing"
    assert seconds < MAX_SECONDS, f"took {seconds:.1f} s to refuse"


def test_the_deadline_ends_a_render_the_step_budget_would_allow():
    outcome, _, seconds = render_isolated(PAYLOADS["six nested loops"], overrides={"MAX_STEPS": 10**12})
    assert outcome.startswith("RenderError") and "longer than" in outcome, outcome
    assert limits.MAX_SECONDS <= seconds < MAX_SECONDS


def test_html_fields_have_the_same_limits():
    outcome, peak, _ = render_isolated(doubled("'<b>' * 5000", 15, "{% set s = s ~ s %}"), html=True)
    assert outcome.startswith("RenderError"), outcome
    assert peak < MAX_ALLOCATED


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ '%05d' % 42 }} {{ '%.2f' % 3.14159 }}", "00042 3.14"),
        ("{{ '{:>6}'.format('ab') }}|{{ 'x'.ljust(3) }}|{{ '7'.zfill(3) }}", "    ab|x  |007"),
        ("{{ ', '.join(['a', 'b']) }} {{ [1, 2]|join('-') }}", "a, b 1-2"),
        ("{% for i in range(3) %}{% for j in range(3) %}{{ i * j }}{% endfor %}{% endfor %}", "000012024"),
        ("{% macro m(x) %}<{{ x }}>{% endmacro %}{{ m(1) }}{{ m(2) }}", "<1><2>"),
        ("{% set s %}{{ 'ab' * 3 }}{% endset %}{{ s ~ '!' }}", "ababab!"),
    ],
)
def test_ordinary_formatting_loops_and_macros_still_work(source, expected):
    assert variant_render(variant("sms", text=source), {}, layout={}, specs=[]).text == expected


def test_escaping_is_unchanged_in_html():
    source = "{{ ['<b>', 'x']|join('<br>'|safe) }}|{{ ('<i>{}</i>'|safe).format('<x>') }}|{{ '<' ~ 'a' }}"
    html = variant_render(variant("email", html=source, subject="s"), {}, layout={}, specs=[]).html
    assert "&lt;b&gt;<br>x|<i>&lt;x&gt;</i>|&lt;a" in html


@pytest.mark.parametrize("source", ["{{ 1 / 0 }}", "{{ 'a' + 1 }}", "{{ '%d' % 'a' }}"])
def test_errors_in_template_code_are_render_errors(source):
    """Not a server error in a preview or a worker crash: the marketer sees what is wrong."""
    with pytest.raises(RenderError, match="Template error"):
        variant_render(variant("sms", text=source), {}, layout={}, specs=[])
