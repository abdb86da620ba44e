"""Conditions in CEL (SPEC §9), checked on save and evaluated by ``cel-python`` (``celpy``).

A condition sees ``contact`` (its fields and ``attributes``), ``event`` (``name``, ``id``,
``occurred_at`` and ``data``) and, where steps have run, ``steps`` (each step's outcome by its
id). Checking a condition on save finds what CEL itself cannot know: names and fields that do
not exist, and wrong types (by evaluating it against typed sample values), so an author hears
of ``contact.tier`` or ``contact.locale > 3`` before a run does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import celpy
from celpy.adapter import json_to_cel
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError
from lark import Token, Tree

# Each field with a sample of its type (for checking conditions on save).
CONTACT_FIELDS: Mapping[str, Any] = {
    "external_id": "text",
    "email": "text",
    "phone": "text",
    "locale": "text",
    "timezone": "text",
    "attributes": {},
}
EVENT_FIELDS: Mapping[str, Any] = {
    "name": "event.name",
    "id": "evt-1",
    "occurred_at": "2026-01-01T00:00:00Z",
    "data": {},
}
# What ``steps.<id>`` holds once that step has run.
STEP_FIELDS: Mapping[str, Any] = {
    "outcome": "sent",
    "status": "delivered",
    "block_reason": "",
    "branch": "",
    "count": 0,
    "event": {"name": "event.name", "data": {}},
}
SAMPLES: Mapping[str, Any] = {"string": "text", "int": 1, "double": 1.5, "bool": True, "list": [], "map": {}}
# Dynamic maps: a key the author names there is not known in advance (free JSON).
DYNAMIC = frozenset({("contact", "attributes"), ("event", "data")})
# The operations whose operand types are checked one by one.
TYPED_NODES = frozenset({"relation", "addition", "multiplication", "unary"})
MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
MAX_DEPTH = 60
# A comprehension inside a comprehension multiplies the work (ten nested over ten items is
# 10^10 steps): one level is all a condition needs, so evaluation stays linear in its input.
MAX_COMPREHENSION_NESTING = 1


class ConditionError(Exception):
    """A condition could not be evaluated (at run time)."""


@dataclass(frozen=True)
class ConditionScope:
    """What a condition may refer to: ``steps`` ids known before it, and the trigger event's
    declared data fields (``event_fields``; None: the event's data is free)."""

    step_ids: Sequence[str] | None = None
    event_fields: Mapping[str, str] | None = None
    names: frozenset[str] = field(default=frozenset({"contact", "event", "steps"}))


_ENV = celpy.Environment()


@lru_cache(maxsize=2048)
def _compiled(source: str) -> Any:
    return _ENV.program(_ENV.compile(source))


def _path(node: Tree[Any]) -> list[str] | None:
    """``a.b.c`` as ["a", "b", "c"] if ``node`` is such a chain rooted in a name, else None."""
    if node.data != "member" or len(node.children) != 1:
        return None
    inner = node.children[0]
    if not isinstance(inner, Tree):
        return None
    if inner.data == "primary" and isinstance(inner.children[0], Tree) and inner.children[0].data == "ident":
        return [str(inner.children[0].children[0])]
    if inner.data == "member_dot" and isinstance(inner.children[0], Tree):
        head = _path(inner.children[0])
        return [*head, str(inner.children[1])] if head is not None else None
    return None


def _bound_names(tree: Tree[Any]) -> set[str]:
    """Variables that comprehension macros bind (``x`` in ``list.exists(x, x > 1)``)."""
    bound: set[str] = set()
    for node in tree.iter_subtrees():
        if node.data != "member_dot_arg" or str(node.children[1]) not in MACROS:
            continue
        exprlist = node.children[2] if len(node.children) > 2 else None
        if isinstance(exprlist, Tree) and exprlist.children:
            first = exprlist.children[0]
            if isinstance(first, Tree):
                idents = [n for n in first.iter_subtrees() if n.data == "ident"]
                if idents:
                    bound.add(str(idents[0].children[0]))
    return bound


def _comprehension_nesting(tree: Tree[Any]) -> int:
    deepest, stack = 0, [(tree, 0)]
    while stack:
        node, nesting = stack.pop()
        if node.data == "member_dot_arg" and str(node.children[1]) in MACROS:
            nesting += 1
        deepest = max(deepest, nesting)
        stack.extend((c, nesting) for c in node.children if isinstance(c, Tree))
    return deepest


def _depth(tree: Tree[Any]) -> int:
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((c, depth + 1) for c in node.children if isinstance(c, Tree))
    return deepest


def _path_errors(path: list[str], scope: ConditionScope) -> str | None:
    root = path[0]
    if len(path) < 2:
        return None
    second = path[1]
    if root == "contact" and second not in CONTACT_FIELDS:
        return f"'contact.{second}' is not a contact field (use {', '.join(CONTACT_FIELDS)}; own fields go in contact.attributes)."
    if root == "event" and second not in EVENT_FIELDS:
        return f"'event.{second}' is not an event field (use {', '.join(EVENT_FIELDS)})."
    fields = scope.event_fields
    if (
        root == "event"
        and second == "data"
        and len(path) > 2
        and fields is not None
        and path[2] not in fields
    ):
        declared = ", ".join(fields) or "none"
        return f"'event.data.{path[2]}' is not a declared event field (declared: {declared})."
    if root == "steps":
        if scope.step_ids is None or second not in scope.step_ids:
            known = ", ".join(scope.step_ids or []) or "none here"
            return f"'steps.{second}' is not a step that has run by then (steps: {known})."
        if len(path) > 2 and path[2] not in STEP_FIELDS:
            return f"'steps.{second}.{path[2]}' is not a step outcome field (use {', '.join(STEP_FIELDS)})."
    return None


_OPERATORS = {
    "relation_lt": "<",
    "relation_le": "<=",
    "relation_gt": ">",
    "relation_ge": ">=",
    "relation_eq": "==",
    "relation_ne": "!=",
    "relation_in": "in",
    "addition_add": "+",
    "addition_sub": "-",
    "multiplication_mul": "*",
    "multiplication_div": "/",
    "multiplication_mod": "%",
}
_CEL_TYPE_NAME = re.compile(r"<class 'celpy\.celtypes\.(\w+)Type'>")


def _type_message(exc: CELEvalError) -> str:
    text = str(exc.args[0]) if exc.args else str(exc)
    names = [n.lower() for n in _CEL_TYPE_NAME.findall(text)]
    operator = re.search(r"Token\('RULE', '(\w+)'\)", text)
    if names and operator:
        symbol = _OPERATORS.get(operator.group(1), operator.group(1))
        return f"wrong type: '{symbol}' cannot be applied to {' and '.join(names)}."
    return f"wrong type: {text}"


def _is_type_error(value: Any) -> bool:
    """A wrong type of the operation itself (not an earlier error carried along)."""
    return (
        isinstance(value, CELEvalError)
        and len(value.args) > 1
        and value.args[1] is TypeError
        and "CELEvalError" not in str(value.args[0])
    )


def sample_activation(scope: ConditionScope) -> dict[str, Any]:
    data = {name: SAMPLES[kind] for name, kind in (scope.event_fields or {}).items()}
    return {
        "contact": dict(CONTACT_FIELDS),
        "event": {**EVENT_FIELDS, "data": data},
        "steps": {step_id: dict(STEP_FIELDS) for step_id in scope.step_ids or []},
    }


def condition_check(source: str, *, scope: ConditionScope) -> list[str]:
    """What is wrong with a condition, in words for its author (empty: nothing)."""
    try:
        tree = _ENV.compile(source)
    except CELParseError as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else "syntax error"
        return [f"not valid CEL: {first_line}"]
    except RecursionError:
        return ["too deeply nested."]
    if _depth(tree) > MAX_DEPTH:
        return ["too deeply nested."]
    if _comprehension_nesting(tree) > MAX_COMPREHENSION_NESTING:
        return ["a comprehension (all, exists, exists_one, map, filter) may not hold another."]
    errors: list[str] = []
    bound = _bound_names(tree)
    for node in tree.iter_subtrees():
        if node.data == "ident":
            name = str(node.children[0]) if isinstance(node.children[0], Token) else ""
            if name not in scope.names and name not in bound:
                errors.append(f"unknown name '{name}' (use {', '.join(sorted(scope.names))}).")
        path = _path(node) if node.data == "member" else None
        if path and path[0] in scope.names and (message := _path_errors(path, scope)):
            errors.append(message)
    if errors:
        return list(dict.fromkeys(errors))
    activation = _cel_activation(sample_activation(scope))
    # Each operation on its own, so a key of a free map that the samples cannot hold (known
    # only at run time) does not hide a wrong type elsewhere in the expression.
    # Innermost first, so the error named is the operation at fault, not one it spoiled.
    outermost_first = tree.iter_subtrees_topdown()  # type: ignore[no-untyped-call]
    for node in reversed([tree, *(n for n in outermost_first if n.data in TYPED_NODES)]):
        value: Any
        try:
            value = _ENV.program(node).evaluate(activation)
        except CELEvalError as exc:
            value = exc
        except RecursionError:
            return ["too deeply nested."]
        if _is_type_error(value):
            return [_type_message(value)]
    try:
        result = _ENV.program(tree).evaluate(activation)
    except CELEvalError:
        return []  # a key of a free map the samples do not hold: only known at run time
    if isinstance(result, CELEvalError):
        return []
    if not isinstance(result, celpy.celtypes.BoolType):
        return [f"must be true or false, not {type(result).__name__.removesuffix('Type').lower()}."]
    return []


def _cel_activation(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: json_to_cel(value) for name, value in values.items()}


@lru_cache(maxsize=2048)
def _names(source: str) -> frozenset[str]:
    """The names ``source`` refers to (a superset: a comprehension's own variables too)."""
    tree = _ENV.compile(source)
    return frozenset(str(n.children[0]) for n in tree.iter_subtrees() if n.data == "ident" and n.children)


def condition_evaluate(source: str, values: Mapping[str, Any]) -> bool:
    """The condition's value over ``values`` (JSON-like ``contact``, ``event``, ``steps``).

    Only the values it names are turned into CEL's types (a condition on the event converts
    no contact attributes). Raises ConditionError if it cannot be evaluated (a missing key, a
    wrong type at run time, a number CEL cannot hold)."""
    try:
        names = _names(source)
        program = _compiled(source)
    except (CELParseError, RecursionError) as exc:
        raise ConditionError(str(exc.args[0]) if exc.args else str(exc)) from exc
    try:
        activation = _cel_activation({name: value for name, value in values.items() if name in names})
    except (ValueError, TypeError) as exc:
        # What json_to_cel refuses (an integer beyond 64 bits): as a missing key, no value.
        raise ConditionError(f"a value CEL cannot hold ({exc})") from exc
    try:
        result = program.evaluate(activation)
    except (CELEvalError, CELParseError, RecursionError) as exc:
        raise ConditionError(str(exc.args[0]) if exc.args else str(exc)) from exc
    if isinstance(result, CELEvalError):
        raise ConditionError(str(result.args[0]) if result.args else "evaluation failed")
    if not isinstance(result, celpy.celtypes.BoolType):
        raise ConditionError("the condition's value is not true or false")
    return bool(result)
