"""bench.json, what `seedge bench` measured in an export folder for the runtimes' choice
(seedge.bench_record writes it and states the rule both runtimes order by): each field either
runtime reads, what it means, what it must be."""

from __future__ import annotations

from seedge.contract.rules import Document, Rule

BENCH_RECORD = "bench.json"
SCHEMA = 1
MAX_BENCH_BYTES = 1 << 20
FIX = "delete it or run `seedge bench` again"

R = Rule
_NOT_A_RECORD = f"not a seedge bench record (schema {SCHEMA} with devices.*.slow)"
_P50 = "devices.{0}.p50_ms must map artifact ids to {batch: positive finite ms} "

RULES: tuple[Rule, ...] = (
    R("", "object", "the record", required=True, problem=_NOT_A_RECORD),
    R("schema", "int", "the layout version of this file", required=True, one_of=(SCHEMA,), problem=_NOT_A_RECORD),
    R("devices", "object", "one entry per device family benched (cpu, cuda)", required=True, problem=_NOT_A_RECORD),
    R("devices.*", "object", "the family's last bench", required=True, problem=_NOT_A_RECORD),
    R(
        "devices.*.slow",
        "object",
        "artifacts flagged slow there: never chosen on their own",
        required=True,
        problem=_NOT_A_RECORD,
    ),
    R(
        "devices.*.slow.*",
        "list",
        "why the artifact was flagged, one reason per item",
        required=True,
        items="string",
        problem="devices.{0}.slow must map artifact ids to lists of reasons ('{1}' is {value})",
    ),
    R(
        "devices.*.contended",
        "bool",
        "the machine was busy: its p50s do not order the choice",
        null_ok=False,
        problem="devices.{0}.contended must be true or false",
    ),
    R("devices.*.measured", "string", "when (ISO time)"),
    R(
        "devices.*.p50_ms",
        "object",
        "artifact id -> {batch: p50 in ms}, by the artifact's own backend",
        null_ok=False,
        problem=_P50 + "(not an object)",
    ),
    R(
        "devices.*.p50_ms.*",
        "object",
        "one artifact's p50 per batch",
        required=True,
        problem=_P50 + "('{1}' is not an object)",
    ),
    R(
        "devices.*.p50_ms.*.*",
        "positive_number",
        "the p50 in ms at that batch",
        required=True,
        keys="batch",
        problem=_P50 + "('{1}' at batch {2} is {value})",
        key_problem=_P50 + "('{1}' has batch '{key}', not a positive integer)",
    ),
)

DOCUMENT = Document(
    name=BENCH_RECORD,
    what="bench record",
    max_bytes=MAX_BENCH_BYTES,
    line="{file}: {problem}; {fix}",
    fix=FIX,
    missing="",
    rules=RULES,
)
