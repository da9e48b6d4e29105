"""The contract's rules as JSON Schema (draft 2020-12), for readers outside seedge (editors,
other languages, documentation): seedge/contract/manifest.schema.json and bench.schema.json are
written from the rules by

    python -m seedge.contract.json_schema DIR

and tests/contract/test_json_schema.py fails when the committed copies are stale. The rules stay
the source, and the two runtimes check with the rules, not with these files: JSON Schema cannot
say that an integer is an integer literal (10.0 validates as "integer" there), nor the relations
between fields (seedge.contract.rules.RELATIONS, given here as "$comment"), nor seedge's refusal
lines.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from seedge.contract import bench, manifest
from seedge.contract.rules import RELATIONS, Document, Rule

HERE = Path(__file__).resolve().parent
FILES = {"manifest.schema.json": manifest.DOCUMENT, "bench.schema.json": bench.DOCUMENT}
_BATCH_KEY = "^[1-9][0-9]{0,8}$"


def _kind(kind: str) -> dict:
    kinds: dict[str, dict] = {
        "any": {},
        "object": {"type": "object"},
        "list": {"type": "array"},
        "string": {"type": "string"},
        "text": {"type": "string", "minLength": 1},
        "bool": {"type": "boolean"},
        "int": {"type": "integer"},
        "positive_int": {"type": "integer", "minimum": 1, "maximum": (1 << 31) - 1},
        "number": {"type": "number"},
        "positive_number": {"type": "number", "exclusiveMinimum": 0},
        "batch_dim": {"anyOf": [{"type": "string"}, {"type": "integer", "minimum": 1, "maximum": (1 << 31) - 1}]},
    }
    return kinds[kind]


def _at_most(spec: dict, bound: int) -> dict:
    """`spec` with its integers (an anyOf's too) at most `bound` (0: as it is)."""
    if not bound:
        return spec
    if "anyOf" in spec:
        return {"anyOf": [_at_most(s, bound) for s in spec["anyOf"]]}
    return {**spec, "maximum": bound} if spec.get("type") == "integer" else spec


def _node(root: dict, path: str) -> tuple[dict, dict, str | None]:
    """(the schema of the value at `path`, its parent object's schema, its key there)."""
    node, parent, key = root, root, None
    for seg in path.split(".") if path else []:
        each, name = seg.endswith("[]"), seg.removesuffix("[]")
        parent = node
        if name == "*":
            node, key = node.setdefault("additionalProperties", {}), None
        else:
            node, key = node.setdefault("properties", {}).setdefault(name, {}), name
        if each:
            parent, node, key = node, node.setdefault("items", {}), None
    return node, parent, key


def _apply(rule: Rule, node: dict, parent: dict, key: str | None) -> None:
    node.setdefault("description", rule.meaning)
    if rule.kind == "known_keys":
        node["propertyNames"] = {"enum": list(rule.one_of)}
    elif rule.kind == "all_keys":
        node["required"] = list(rule.one_of)
    if rule.kind in RELATIONS:
        node["$comment"] = (
            node.get("$comment", "")
            + f" {rule.kind}: {RELATIONS[rule.kind]}"
            + (f" (other: {rule.other})" if rule.other else "")
        ).strip()
        return
    spec = dict(_kind(rule.kind))
    if rule.kind == "list":
        if rule.min_len:
            spec["minItems"] = rule.min_len
        if rule.max_len:
            spec["maxItems"] = rule.max_len
        spec["items"] = _at_most(_kind(rule.items), rule.at_most)
        if rule.first:
            spec["prefixItems"] = [_at_most(_kind(rule.first), rule.at_most)]
        if rule.max_product:
            spec["$comment"] = f"the product of its integer items is at most {rule.max_product}"
    if rule.one_of:
        spec["enum"] = list(rule.one_of)
    if not rule.required and rule.null_ok and rule.path:
        spec = {"anyOf": [spec, {"type": "null"}]}
    if rule.when:
        sibling, value = rule.when
        cond = {
            "if": {"properties": {sibling: {"const": value}}, "required": [sibling]},
            "then": {"properties": {key: spec}, **({"required": [key]} if rule.required else {})},
        }
        parent.setdefault("allOf", []).append(cond)
        return
    node.setdefault("allOf", []).append(spec)
    if rule.keys == "batch":
        holder = parent
        holder["propertyNames"] = {"pattern": _BATCH_KEY}
    if rule.required and key is not None and key not in parent.setdefault("required", []):
        parent["required"].append(key)


def schema(doc: Document) -> dict:
    root: dict = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": doc.name,
        "description": f"seedge's {doc.what}, generated from seedge.contract (the rules are the source)",
    }
    for rule in doc.rules:
        node, parent, key = _node(root, rule.path)
        _apply(rule, node, parent, key)
    return root


def text(doc: Document) -> str:
    return json.dumps(schema(doc), indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else HERE
    for name, doc in FILES.items():
        (out / name).write_text(text(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
