"""The vocabulary the contract is written in: a field rule, a document, and the kinds a value
may be. Both runtimes interpret the same rules (seedge.contract.check in Python, the C++
runtime's src/document_check.cpp from the header seedge.runtime.cpp_contract generates), so a
rule written once is checked the same way in both.

A rule's `path` names the values it checks, dotted from the document's root:
    "model.num_classes"        one member
    "artifacts[].id"           the "id" of every item of the list "artifacts"
    "devices.*.slow"           the "slow" of every member of the object "devices"
    ""                         the document itself
A value is checked only where its parents are the containers the path says (a wrong parent is
its own rule's refusal, listed earlier). Rules run in order; the first that fails is the one
refusal line. Objects are read as Python's json reads them: a repeated key, the last one counts.
"""

from __future__ import annotations

from dataclasses import dataclass

# What a value may be. Integers are JSON integers (10.0 and 1e1 are not); numbers are finite
# (an integer too large for a double is not one); booleans are only true/false.
KINDS = {
    "any": "any JSON value",
    "object": "a JSON object",
    "list": "a JSON array",
    "string": "a string (may be empty)",
    "text": "a non-empty string",
    "bool": "true or false",
    "int": "a JSON integer",
    "positive_int": "a JSON integer in 1 .. 2**31 - 1",
    "number": "a finite JSON number (integer or not)",
    "positive_number": "a finite JSON number above 0",
    "batch_dim": "a string (a named dynamic batch) or a positive integer",
}
# Checks that relate a value to another field (`other`), each implemented in both languages.
RELATIONS = {
    "count_of": "a list with exactly as many items as the integer at `other`",
    "equals_tail": "a list equal to the list at `other` without its first item",
    "per_channel": "a list of at least `other`[0] numbers",
    "no_zero": "a list of numbers none of which is 0",
    "unique": "a string no other item of the enclosing list holds at the same place",
    "covers": "a list [H, W] no smaller than the last two items of the list at `other` (a resize the crop fits in)",
    "known_keys": "an object whose every key is one of `one_of` ({key}: the first that is not)",
    "all_keys": "an object holding every key of `one_of`, null values included ({key}: the first absent)",
}
# Keys of an object whose members are data ("*" paths): what each key must look like.
KEY_KINDS = {
    "any": "any string",
    "batch": "a batch size as a canonical decimal: 1 to 9 digits, no leading 0",
}
DEFAULT_PROBLEMS = {
    "object": "must be an object, not a JSON {kind}",
    "list": "must be a list",
    "string": "must be a string",
    "text": "must be a non-empty string",
    "bool": "must be true or false",
    "int": "must be an integer",
    "positive_int": "must be a positive integer",
    "number": "must be a number",
    "positive_number": "must be a positive number",
    "batch_dim": "must be a name or a positive integer",
}
MISSING = "is missing"


@dataclass(frozen=True)
class Rule:
    """One checked field. Placeholders in `problem` / `message`: {field} the field as shown
    ("artifacts[0].id"), {0} {1} ... the keys or indices the "*" / "[]" of the path matched,
    {key} the member key a `keys` check refused, {value} the value as JSON text, {text} a
    string value as it is, {kind} the JSON kind of the value, {other} the related field's
    value (relations)."""

    path: str
    kind: str
    meaning: str
    required: bool = False  # absent or null is refused ("is missing")
    null_ok: bool = True  # an optional field may be null, meaning absent
    items: str = "any"  # list: the kind of every item
    first: str = ""  # list: the kind of item 0 where it differs (input.shape's batch)
    min_len: int = 0  # list: at least this many items
    max_len: int = 0  # list: at most this many (0: no bound)
    at_most: int = 0  # list: every integer item at most this (0: no bound)
    max_product: int = 0  # list: the product of its integer items at most this (0: no bound)
    one_of: tuple = ()  # the values allowed (strings or integers); known_keys/all_keys: the keys
    when: tuple = ()  # (sibling key, string value): checked only where the sibling holds it
    keys: str = "any"  # "*" paths: what each member key must look like (KEY_KINDS)
    other: str = ""  # relations: the related field's path
    problem: str = ""  # the refusal, inside the document's line ("" = the kind's default)
    message: str = ""  # a whole refusal line of its own, in place of the document's
    key_problem: str = ""  # the refusal when a key fails `keys`

    def __post_init__(self):
        if self.kind not in KINDS and self.kind not in RELATIONS:
            raise ValueError(f"rule {self.path!r}: unknown kind {self.kind!r}")
        for k in (self.items, self.first or "any"):
            if k not in KINDS:
                raise ValueError(f"rule {self.path!r}: unknown item kind {k!r}")
        if self.keys not in KEY_KINDS:
            raise ValueError(f"rule {self.path!r}: unknown key kind {self.keys!r}")


@dataclass(frozen=True)
class Document:
    """A file of the contract: its name, its size bound, its refusal line and its rules."""

    name: str  # "manifest.json"
    what: str  # "manifest": the word in size and parse refusals
    max_bytes: int
    line: str  # "{file}: ... {problem} ... {fix}"
    fix: str  # what the user does about a refused file
    missing: str  # the problem of an absent required field ("": the rule's own)
    rules: tuple[Rule, ...]


# Every document: JSON text of at most this nesting (the C++ reader's bound, Python's is ~1000)
# and integers of at most this many digits (Python's int parsing bound, CPython's default).
MAX_DEPTH = 256
MAX_INT_DIGITS = 4300
