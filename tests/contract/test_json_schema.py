"""The JSON Schema files shipped in seedge/contract are written from the contract's rules, never
by hand: the committed copies must be what seedge.contract.json_schema writes today, and every
rule's field appears there with its meaning."""

from __future__ import annotations

import json

from seedge.contract import json_schema
from seedge.contract.rules import RELATIONS


def test_the_committed_schemas_are_current():
    for name, doc in json_schema.FILES.items():
        assert (json_schema.HERE / name).read_text() == json_schema.text(doc), (
            f"seedge/contract/{name} is stale: run `python -m seedge.contract.json_schema`")


def test_every_rule_is_in_its_schema_with_its_meaning():
    for name, doc in json_schema.FILES.items():
        schema = json.loads((json_schema.HERE / name).read_text())
        for rule in doc.rules:
            if rule.when:
                continue  # a conditional rule lives in its parent's if/then
            node = schema
            for seg in rule.path.split(".") if rule.path else []:
                key = seg.removesuffix("[]")
                node = node["additionalProperties"] if key == "*" else node["properties"][key]
                if seg.endswith("[]"):
                    node = node["items"]
            assert node["description"], rule.path
            if rule.kind in RELATIONS:
                assert rule.kind in node["$comment"], rule.path
