"""--key-map REGEX=REPLACEMENT: the user's own renames of a checkpoint's keys.

Patterns run on RE2 (google-re2), a linear-time engine: a pattern such as `(a+)+$` makes
Python's backtracking `re` take minutes on a 35-character key, RE2 microseconds. The price is
RE2's syntax (no lookaround, no backreferences in the pattern), which key renames never need;
replacements keep Python's `\\1` / `\\g<name>` spelling.
"""

from __future__ import annotations

from seedge.errors import SeedgeError


def _re2():
    """The re2 module and options that keep RE2 from logging its parse errors to stderr."""
    try:
        import re2
    except ImportError:
        raise SeedgeError(
            "--key-map needs google-re2 (`pip install google-re2`), the linear-time regex engine its patterns run on"
        ) from None
    options = re2.Options()
    options.log_errors = False
    return re2, options


def _text(e: Exception) -> str:
    arg = e.args[0] if e.args else e
    return arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)


def parse_key_map(items) -> list[tuple[object, str, str]]:
    """["REGEX=REPLACEMENT", ...] -> [(compiled RE2 pattern, replacement, the text given)]."""
    rules: list[tuple[object, str, str]] = []
    if not items:
        return rules
    re2, options = _re2()
    for item in items:
        pattern, sep, repl = str(item).partition("=")
        if not sep or not pattern:
            raise SeedgeError(f"--key-map {item!r}: give REGEX=REPLACEMENT, e.g. '^features\\.=layer.'")
        try:
            rules.append((re2.compile(pattern, options), repl, str(item)))
        except re2.error as e:
            raise SeedgeError(
                f"--key-map {item!r}: not a regular expression RE2 reads ({_text(e)}; no lookaround or backreferences)"
            ) from None
    return rules


def apply_key_map(sd: dict, rules, path) -> dict:
    """Rename every key through each rule in turn (sub); a rule that renames nothing is an error."""
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
            # IndexError: a group the pattern lacks; UnicodeDecodeError: a lone trailing backslash
            except (IndexError, UnicodeDecodeError, ValueError) as e:
                raise SeedgeError(f"--key-map {text!r}: bad replacement ({_text(e)})") from None
            used[i] += renamed != nk
            nk = renamed
        if nk in out:
            raise SeedgeError(f"{path}: --key-map renames both '{origin[nk]}' and '{k}' to '{nk}'")
        out[nk], origin[nk] = v, k
    for (_, _, text), n in zip(rules, used, strict=True):
        if n == 0:
            raise SeedgeError(
                f"--key-map {text!r} renames no key of {path} (its keys look like {', '.join(list(sd)[:3])})"
            )
    return out
