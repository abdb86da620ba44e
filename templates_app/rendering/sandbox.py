"""The Jinja2 sandbox templates render in, with limits enforced while rendering.

Jinja's sandbox keeps template code away from Python's internals; it does not keep it from
exhausting a process: ``'%0150000000d' % 1`` allocates 150 MB, ``'a'.ljust(N)`` likewise, a
string doubled twenty times takes gigabytes, and nested loops or macros run for ever. Checking
the output afterwards is too late, so every place where template code can make something big or
run long is checked before it does (or, where growth is bounded by a small factor, at once
after):

- sizes: no string (or list) a template builds may exceed ``MAX_OUTPUT``. Formatting (``%``,
  ``format``, ``format_map``) is refused when a width or precision is above it, padding methods
  when the width is; joins and concatenations (``~``, block ``set``, macro output) count their
  parts before joining; containers are measured before they are turned into text.
- steps: each loop iteration, call (methods, macros) and filter is a step, ``MAX_STEPS`` per
  render; recursive loops are refused and deep macro recursion is a render error.
- time: a render ends with an error ``MAX_SECONDS`` after it started (checked at every step).
- lists, dicts and sets cannot be modified (so cannot be doubled in place), ``range`` is limited
  to ``MAX_RANGE`` numbers, ``*`` to ``MAX_REPEAT`` items and integers to ``MAX_INT_BITS`` bits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import wraps
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.runtime import markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import _PassArg

from templates_app.rendering.limits import (
    MAX_INT_BITS,
    MAX_RANGE,
    MAX_REPEAT,
    check_built,
    check_format_spec,
    check_printf,
    check_str_method,
    check_text,
    check_width,
    joined,
    step,
)

# Filters whose argument sets the size of the result (center(10**9)), that show Python reprs
# (pprint) or are not repeatable (random) are left out.
_UNSAFE_FILTERS = ("center", "indent", "format", "wordwrap", "pprint", "random", "attr", "xmlattr")
# Filters that do not turn a container they are given into text (the rest are measured first).
_CONTAINER_FILTERS = frozenset(
    {"length", "count", "first", "last", "list", "select", "reject", "map", "selectattr", "rejectattr"}
    | {"sort", "unique", "min", "max", "sum", "batch", "slice", "groupby", "dictsort", "items"}
    | {"default", "d", "reverse", "join"}
)
_COUNTED = "_sb_counted"  # the filter every loop's iterable is wrapped in (see _parse)


class _LimitedCodeGenerator(CodeGenerator):
    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        """``a ~ b``: measured before joining (Jinja's own join is not an environment hook)."""
        markup = "context.eval_ctx.autoescape" if frame.eval_ctx.volatile else str(frame.eval_ctx.autoescape)
        self.write("environment.join_text((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write(f"), {markup})")


class LimitedSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with the limits above (use within ``render_limits()``)."""

    code_generator_class = _LimitedCodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    @staticmethod
    def concat(parts: Iterable[str]) -> str:
        """Joins the output of a block ``set``, a macro or a filter block."""
        return "".join(joined("", parts))

    @staticmethod
    def join_text(parts: tuple[Any, ...], markup: bool) -> str:
        joined("", parts)
        return markup_join(parts) if markup else str_join(parts)

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            if loop.recursive:
                raise jinja2.TemplateSyntaxError(
                    "recursive loops are not allowed", loop.lineno, name, filename
                )
            loop.iter = nodes.Filter(loop.iter, _COUNTED, [], [], None, None, lineno=loop.lineno)
        return tree

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``str.format`` and ``format_map`` (Jinja sandboxes them where they are looked up):
        the format checked, the arguments measured, the result checked."""
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        check_format_spec(value.__self__)

        def checked(*args: Any, **kwargs: Any) -> str:
            check_text((args, kwargs))
            formatted: str = check_built(wrapped(*args, **kwargs))
            return formatted  # a Markup for a Markup format: not str() again

        return checked

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        step()
        if operator == "*":
            for sized, times in ((left, right), (right, left)):
                if (
                    isinstance(sized, str | list | tuple)
                    and isinstance(times, int)
                    and len(sized) * times > MAX_REPEAT
                ):
                    raise SecurityError(f"* would build more than {MAX_REPEAT:,} items")
        if operator == "**" and isinstance(right, int | float):
            bits = left.bit_length() if isinstance(left, int) else 64
            if abs(right) > 64 or bits * abs(right) > MAX_INT_BITS:
                raise SecurityError(f"the power would be larger than {MAX_INT_BITS:,} bits")
        if operator == "%" and isinstance(left, str):
            check_printf(left, right)
        return check_built(super().call_binop(context, operator, left, right))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        step()
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            name = getattr(__obj, "__name__", "")
            if name == "join" and args:
                return check_built(owner.join(joined(owner, args[0])))
            check_str_method(owner, name, args, kwargs)
        return check_built(super().call(__context, __obj, *args, **kwargs))


def _counted(iterable: Iterable[Any]) -> Iterator[Any]:
    for item in iterable:
        step()
        yield item


def _range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise SecurityError(f"range() is limited to {MAX_RANGE:,} numbers")
    return numbers


def _limited_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` with a step, its arguments measured and its result checked."""
    passed = 1 if _PassArg.from_obj(function) is not None else 0

    @wraps(function)  # keeps jinja_pass_arg
    def limited(*args: Any, **kwargs: Any) -> Any:
        step()
        value, rest = args[passed : passed + 1], (*args[passed + 1 :], *kwargs.values())
        if value and name not in _CONTAINER_FILTERS:
            check_text(value[0])
        for argument in rest:
            check_width(argument, f"a {name} argument of")
            check_text(argument)
        return check_built(function(*args, **kwargs))

    return limited


@jinja2.pass_eval_context
def _replace(
    eval_ctx: jinja2.nodes.EvalContext, value: Any, old: str, new: str, count: int | None = None
) -> Any:
    """Jinja's ``replace``, refused when the result would be longer than ``MAX_OUTPUT``."""
    check_str_method(str(value), "replace", (old, new), {})
    return jinja2.filters.do_replace(eval_ctx, value, old, new, count)


@jinja2.pass_eval_context
def _join(
    eval_ctx: jinja2.nodes.EvalContext, value: Iterable[Any], d: str = "", attribute: Any = None
) -> str:
    """Jinja's ``join``, refused as soon as the result would be longer than ``MAX_OUTPUT``."""
    joined_text: str = jinja2.filters.do_join(eval_ctx, joined(str(d), value), d, attribute)
    return joined_text  # a Markup when autoescaping: not str() again, which would unmark it


def sandbox(*, autoescape: bool, extra_filters: Mapping[str, Callable[..., Any]]) -> LimitedSandbox:
    env = LimitedSandbox(
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        loader=jinja2.DictLoader({}),
        finalize=check_text,
    )
    # Only what templates need: no lipsum, cycler, joiner, namespace or dict from Jinja.
    env.globals = {"range": _range}
    filters = {k: v for k, v in env.filters.items() if k not in _UNSAFE_FILTERS}
    filters.update(extra_filters, join=_join, replace=_replace)
    env.filters = {name: _limited_filter(name, function) for name, function in filters.items()}
    env.filters[_COUNTED] = _counted
    return env
