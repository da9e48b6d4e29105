"""Read and check a contract document in Python (the C++ runtime interprets the same rules in
src/document_check.cpp). Refusals are one line naming the file and the field."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

from seedge.contract.rules import DEFAULT_PROBLEMS, MAX_DEPTH, Document, Rule
from seedge.errors import SeedgeError

_ABSENT = object()
_BATCH = re.compile(r"[1-9][0-9]{0,8}")
_PLACEHOLDER = re.compile(r"\{([a-z0-9]+)\}")


def parse(data: bytes):
    """JSON text as the contract reads it: strict UTF-8 (no BOM, no UTF-16), Python's json grammar
    (NaN and Infinity included), nesting of at most MAX_DEPTH, strings of Unicode scalar values
    (no lone surrogate escapes). Raises ValueError saying what is wrong."""
    try:
        value = json.loads(data.decode("utf-8"))  # UnicodeDecodeError, JSONDecodeError: ValueErrors
    except RecursionError:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels") from None
    _check_plain(value)
    return value


def _check_plain(root) -> None:
    stack = [(root, 0)]
    while stack:
        v, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(v, dict):
            for k, item in v.items():
                _check_text(k)
                stack.append((item, depth + 1))
        elif isinstance(v, list):
            stack += [(item, depth + 1) for item in v]
        elif isinstance(v, str):
            _check_text(v)


def _check_text(s: str) -> None:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("a string holds a lone surrogate (\\ud800-\\udfff), not a character") from None


def check(doc: Document, value, file) -> None:
    """Raise SeedgeError (the document's one line) at the first rule `value` breaks."""
    for rule in doc.rules:
        problem = _first_problem(rule, value, doc.missing)
        if problem is None:
            continue
        template, fields = problem
        if rule.message:
            raise SeedgeError(_fill(rule.message, {**fields, "file": str(file)}))
        text = _fill(template, fields)
        raise SeedgeError(
            _fill(doc.line, {"file": str(file), "field": fields["field"], "problem": text, "fix": doc.fix})
        )


@dataclass
class _Node:
    value: object
    field: str
    caps: tuple
    parent: object
    key: str | None


def nodes(root, path: str) -> list[_Node]:
    """The values `path` names in `root` (an absent member as _ABSENT), in document order."""
    found = [_Node(root, "", (), None, None)]
    for seg in path.split(".") if path else []:
        each, key = seg.endswith("[]"), seg.removesuffix("[]")
        out = []
        for n in found:
            if not isinstance(n.value, dict):
                continue  # a wrong or absent parent is its own rule's refusal
            if key == "*":
                out += [_Node(v, _join(n.field, k), n.caps + (k,), n.value, k) for k, v in n.value.items()]
                continue
            v, field = n.value.get(key, _ABSENT), _join(n.field, key)
            if not each:
                out.append(_Node(v, field, n.caps, n.value, key))
            elif isinstance(v, list):
                out += [_Node(item, f"{field}[{i}]", n.caps + (i,), v, None) for i, item in enumerate(v)]
        found = out
    return found


def _join(field: str, key: str) -> str:
    return f"{field}.{key}" if field else key


def _first_problem(rule: Rule, root, missing: str):
    """(refusal template, placeholder values) of the first value `rule` refuses, else None."""
    seen: set = set()
    for n in nodes(root, rule.path):
        fields = {"field": n.field, "key": n.key or "", **{str(i): str(c) for i, c in enumerate(n.caps)}}
        template = _problem(rule, n, root, missing, fields, seen)
        if template is not None:
            # the value's text only for the refusal: a document's big containers are never dumped
            fields.update(value=_show(n.value), kind=_kind(n.value), text=n.value if isinstance(n.value, str) else "")
            return template, fields
    return None


def _problem(rule: Rule, n: _Node, root, missing: str, fields: dict, seen: set) -> str | None:
    """The refusal template for node `n`, or None where `rule` accepts it."""
    if rule.when and not (isinstance(n.parent, dict) and n.parent.get(rule.when[0]) == rule.when[1]):
        return None
    if rule.keys == "batch" and not _BATCH.fullmatch(n.key or ""):
        return rule.key_problem
    if n.value is _ABSENT or n.value is None:
        if rule.required:
            return missing or rule.problem or DEFAULT_PROBLEMS.get(rule.kind, "")
        if n.value is None and not rule.null_ok:
            return rule.problem or DEFAULT_PROBLEMS[rule.kind]
        return None
    if rule.kind == "unique":
        if isinstance(n.value, str) and n.value in seen:
            return rule.problem
        seen.add(n.value if isinstance(n.value, str) else None)
        return None
    if rule.kind in DEFAULT_PROBLEMS:
        ok = _is(rule.kind, n.value) and _list_ok(rule, n.value) and (not rule.one_of or n.value in rule.one_of)
        return None if ok else rule.problem or DEFAULT_PROBLEMS[rule.kind]
    return None if _relation_holds(rule, n.value, root, fields) else rule.problem


def _is(kind: str, v) -> bool:
    """Whether `v` (a parsed JSON value) is of `kind` (seedge.contract.rules.KINDS)."""
    if kind == "any":
        return True
    if kind == "object":
        return isinstance(v, dict)
    if kind == "list":
        return isinstance(v, list)
    if kind in ("string", "text"):
        return isinstance(v, str) and (kind == "string" or v != "")
    if kind == "bool":
        return type(v) is bool
    if kind == "int":
        return type(v) is int
    if kind == "positive_int":
        return type(v) is int and 0 < v < 1 << 31
    if kind in ("number", "positive_number"):
        return _finite(v) and (kind == "number" or v > 0)
    if kind == "batch_dim":
        return isinstance(v, str) or _is("positive_int", v)
    raise ValueError(f"unknown kind {kind!r}")


def _finite(v) -> bool:
    """A JSON number finite as a double: an integer too large for one is not."""
    if type(v) not in (int, float):
        return False
    try:
        return math.isfinite(float(v))
    except OverflowError:
        return False


def _list_ok(rule: Rule, v) -> bool:
    if rule.kind != "list":
        return True
    if len(v) < rule.min_len or (rule.max_len and len(v) > rule.max_len):
        return False
    if not all(_is(rule.first if i == 0 and rule.first else rule.items, x) for i, x in enumerate(v)):
        return False
    product = 1
    for x in v:
        if type(x) is not int:
            continue
        if rule.at_most and x > rule.at_most:
            return False
        if not rule.max_product:
            continue
        product *= x
        if x <= 0 or product > rule.max_product:
            return False  # stops before a long list's product grows large (C++: before it overflows)
    return True


def _relation_holds(rule: Rule, v, root, fields: dict) -> bool:
    """seedge.contract.rules.RELATIONS; a related field that is itself malformed was refused by
    an earlier rule, or is not there: then the relation does not apply."""
    found = nodes(root, rule.other) if rule.other else []
    other = found[0].value if found else None
    if rule.kind in ("known_keys", "all_keys"):
        if not isinstance(v, dict):
            return True
        odd = (
            [k for k in v if k not in rule.one_of]
            if rule.kind == "known_keys"
            else [k for k in rule.one_of if k not in v]
        )
        fields.update(key=odd[0] if odd else "")
        return not odd
    if rule.kind == "no_zero":
        return not (isinstance(v, list) and any(_finite(x) and x == 0 for x in v))
    if rule.kind == "count_of":
        if not (isinstance(v, list) and _is("positive_int", other)):
            return True
        fields.update(count=str(len(v)), other=str(other))
        return len(v) == other
    if rule.kind == "equals_tail":
        if not (isinstance(v, list) and isinstance(other, list)):
            return True
        fields.update(other=_show(other[1:]))
        return v == other[1:]
    if rule.kind == "covers":
        if not (isinstance(v, list) and isinstance(other, list) and len(other) >= 2):
            return True
        fields.update(other=_show(other[-2:]))
        return len(v) == 2 and all(
            type(x) is int and type(y) is int and x >= y for x, y in zip(v, other[-2:], strict=True)
        )
    if rule.kind == "per_channel":
        if not (isinstance(other, list) and other and _is("positive_int", other[0])):
            return True
        fields.update(other=str(other[0]))
        return isinstance(v, list) and len(v) >= other[0] and all(_finite(x) for x in v)
    raise ValueError(f"unknown relation {rule.kind!r}")


def _show(v) -> str:
    """A value as JSON text in a refusal (an absent one as null)."""
    if v is _ABSENT:
        return "null"
    try:
        return json.dumps(v, ensure_ascii=False)
    except (ValueError, OverflowError):
        return "?"


def _kind(v) -> str:
    return {list: "array", str: "string", int: "number", float: "number", bool: "boolean", dict: "object"}.get(
        type(v), "null"
    )


def _fill(template: str, values: dict) -> str:
    """`template` with its {name} placeholders that `values` has replaced, in one pass (a
    replaced text is never read again), the others kept as they are."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)
