"""--key-map REGEX=REPLACEMENT: the user's own renames of a checkpoint's keys."""

from __future__ import annotations

import re

from seedge.errors import SeedgeError


def parse_key_map(items) -> list[tuple[re.Pattern, str, str]]:
    """["REGEX=REPLACEMENT", ...] -> [(compiled, replacement, the text given)]."""
    rules = []
    for item in items or ():
        pattern, sep, repl = str(item).partition("=")
        if not sep or not pattern:
            raise SeedgeError(f"--key-map {item!r}: give REGEX=REPLACEMENT, e.g. '^features\\.=layer.'")
        try:
            rules.append((re.compile(pattern), repl, str(item)))
        except re.error as e:
            raise SeedgeError(f"--key-map {item!r}: not a regular expression ({e})") from None
    return rules


def apply_key_map(sd: dict, rules, path) -> dict:
    """Rename every key through each rule in turn (re.sub); a rule that renames nothing is an error."""
    if not rules:
        return sd
    used = [0] * len(rules)
    out: dict = {}
    origin: dict[str, str] = {}
    for k, v in sd.items():
        nk = k
        for i, (pattern, repl, text) in enumerate(rules):
            try:
                renamed = pattern.sub(repl, nk)
            except (re.error, IndexError) as e:
                raise SeedgeError(f"--key-map {text!r}: bad replacement ({e})") from None
            used[i] += renamed != nk
            nk = renamed
        if nk in out:
            raise SeedgeError(f"{path}: --key-map renames both '{origin[nk]}' and '{k}' to '{nk}'")
        out[nk], origin[nk] = v, k
    for (_, _, text), n in zip(rules, used, strict=True):
        if n == 0:
            raise SeedgeError(f"--key-map {text!r} renames no key of {path} (its keys look like "
                              f"{', '.join(list(sd)[:3])})")
    return out
