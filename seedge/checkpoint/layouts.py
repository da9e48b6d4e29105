"""What to say when a checkpoint's keys do not fit: the closest known layout, and a --key-map that fits."""

from __future__ import annotations

import re

from seedge.checkpoint.key_map import apply_key_map, parse_key_map
from seedge.checkpoint.remap import remap_to_model
from seedge.errors import SeedgeError

# Naming schemes of SE classifiers in the wild: (name, a key pattern only that scheme writes).
KNOWN_LAYOUTS = (
    ("senet.pytorch (se.fc.0/se.fc.2 Linear SE)", re.compile(r"\.se\.fc\.[02]\.weight$")),
    (
        "timm / seedge (se.fc1/se.fc2, conv_reduce/conv_expand)",
        re.compile(r"\.se\.(fc[12]|conv_reduce|conv_expand)\.weight$"),
    ),
    ("pretrainedmodels (layer0, se_module, last_linear)", re.compile(r"^(layer0\.|last_linear\.)|\.se_module\.")),
    (
        "torchvision (features.N..., SqueezeExcitation fc1/fc2, classifier.N)",
        re.compile(r"^features\.\d+\..*\.fc[12]\.weight$|^classifier\.\d+\.weight$"),
    ),
    (
        "a custom residual SE net with its SE inline (layerN.fc1/fc2 Linear, fc1/fc2 head)",
        re.compile(r"^layer\d+\.fc[12]\.weight$"),
    ),
)


class DoesNotFit(SeedgeError):
    """A checkpoint's keys do not fit the model; `key_map` is the whole suggested --key-map (the
    message shows the first rules only), for `seedge inspect --json`."""

    def __init__(self, message: str, key_map: list[str] | None = None):
        super().__init__(message)
        self.key_map = key_map


SHOWN_RULES = 8


def layout_hint(sd: dict, target: dict, optional=frozenset()) -> str:
    """The end of a does-not-fit error: the closest known layout and a --key-map that would fit."""
    return layout_advice(sd, target, optional)[0]


def layout_advice(sd: dict, target: dict, optional=frozenset()) -> tuple[str, list[str] | None]:
    """(layout_hint's text, every rule of the suggested key map or None)."""
    scores = [(sum(bool(rx.search(k)) for k in sd), name) for name, rx in KNOWN_LAYOUTS]
    hits, closest = max(scores)
    parts = [f"closest known layout: {closest}" if hits else "the keys follow none of the layouts seedge knows"]
    rules = suggest_key_map(sd, target, optional)
    if rules:
        shown = " ".join(f"--key-map '{r}'" for r in rules[:SHOWN_RULES])
        more = len(rules) - SHOWN_RULES
        parts.append(
            f"a key map that fits: {shown}"
            + (f" (+{more} more: `seedge inspect ... --json` lists all as key_map)" if more > 0 else "")
        )
    else:
        parts.append(
            "no renaming makes it fit: is --model right? For a checkpoint of your own class, pass "
            "--model-file FILE.py:CLASS"
        )
    return "; ".join(parts), rules


def _signature(key: str, tensor) -> tuple:
    """What aligns a checkpoint key with a model key: parameter kind and shape (a Linear's 2-D
    weight and a 1x1 conv's 4-D one alike, as remap_to_model converts between them)."""
    shape = tuple(tensor.shape)
    while len(shape) > 2 and shape[-1] == 1:
        shape = shape[:-1]
    return key.rsplit(".", 1)[-1], shape


def suggest_key_map(sd: dict, target: dict, optional=frozenset()) -> list[str] | None:
    """REGEX=REPLACEMENT rules that rename `sd`'s keys onto `target`'s, or None when none do.

    Unexpected and missing keys are aligned in order by (parameter kind, shape); where a pair's
    dotted names differ (`features.1` vs `layer1`, `stage` vs `layer`) the differing part becomes
    a rule, one rule for all pairs with the same difference up to numbers (`features\\.(\\d+)\\.`).
    If those do not fit, one rule per module path. The rules are checked: after them (and the
    automatic renames) the checkpoint's keys must be exactly the model's; `optional` model keys
    (SE biases a bias-less checkpoint lacks) may stay missing.
    """
    import difflib

    unexpected = [k for k in sd if k not in target and not k.endswith("num_batches_tracked")]
    missing = [k for k in target if k not in sd and not k.endswith("num_batches_tracked")]
    if not unexpected or not missing:
        return None
    a = [_signature(k, sd[k]) for k in unexpected]
    b = [_signature(k, target[k]) for k in missing]
    pairs = []
    for block in difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks():
        pairs += [(unexpected[block.a + i], missing[block.b + i]) for i in range(block.size)]
    paired = {new for _, new in pairs}
    if len(pairs) != len(unexpected) or any(k not in paired and k not in optional for k in missing):
        return None
    differences: dict[str | None, str | None] = {}
    exact: dict[str, str] = {}
    for old, new in pairs:
        o, n = old.split("."), new.split(".")
        exact[".".join(o[:-1])] = ".".join(n[:-1])
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, o, n, autojunk=False).get_opcodes():
            if tag == "equal":
                continue
            if i1 == i2:  # an inserted level: anchor it on the component before
                if i1 == 0:
                    differences[None] = None  # nothing to anchor on: only exact rules can say it
                    continue
                i1, j1 = i1 - 1, j1 - 1
            differences[".".join(o[i1:i2])] = ".".join(n[j1:j2])
    if None not in differences:
        general = _general_rules(differences)
        if _fits(general, sd, target, optional):
            # Drop rules the automatic renames make unnecessary (se.fc.0 -> se.fc1).
            for rule in list(general):
                fewer = [r for r in general if r != rule]
                if fewer and _fits(fewer, sd, target, optional):
                    general = fewer
            return general
    wrapper = _wrapper_rule(exact)  # every key one level (or more) deeper: one rule, not one per module
    if wrapper and _fits([wrapper], sd, target, optional):
        return [wrapper]
    rules = [_prefix_rule(o, n) for o, n in exact.items() if o != n]
    return rules if rules and _fits(rules, sd, target, optional) else None


def _wrapper_rule(exact: dict[str, str]) -> str | None:
    """`^=P.` when every model path is the checkpoint's path under one prefix P (a wrapper module)."""
    prefixes = {n[: len(n) - len(o)] for o, n in exact.items() if o and n.endswith("." + o)}
    if len(prefixes) != 1 or len(exact) != sum(1 for o, n in exact.items() if o and n.endswith("." + o)):
        return None
    return f"^={prefixes.pop()}"


def _general_rules(differences: dict) -> list[str]:
    """old -> new path parts as rules that match them anywhere in a key; parts that differ only in
    numbers they share (`stage1`/`layer1`, `stage2`/`layer2`) become one rule with groups."""
    groups: dict = {}
    for old, new in differences.items():
        numbers = re.findall(r"\d+", old)
        if numbers and sorted(numbers) == sorted(re.findall(r"\d+", new)):
            key = (re.sub(r"\d+", "#", old), re.sub(r"\d+", "#", new))
        else:
            key = (old, new)
        groups.setdefault(key, []).append((old, new))
    rules = []
    for (old_t, new_t), members in groups.items():
        order = _number_order(members) if len(members) > 1 and "#" in old_t else None
        if order is None:
            rules += [_anywhere_rule(o, n) for o, n in members]
            continue
        pattern = re.escape(old_t).replace("\\#", "#").replace("#", "(\\d+)")
        # new_t's k-th '#' takes the number old_t's group order[k] captured (group 1 is the (^|\.) anchor),
        # so `blk0x1` -> `layer1.0` is one rule even though the numbers swap places.
        first, *rest = new_t.split("#")
        repl = first + "".join(f"\\g<{order[k] + 2}>{text}" for k, text in enumerate(rest))
        rules.append(f"(^|\\.){pattern}\\.=\\g<1>{repl}." if new_t else f"(^|\\.){pattern}\\.=\\g<1>")
    return rules


def _number_order(members: list[tuple[str, str]]) -> tuple[int, ...] | None:
    """Which old number each new number is, one order for all `members` (identity first), or None."""
    import itertools

    olds = [re.findall(r"\d+", o) for o, _ in members]
    news = [re.findall(r"\d+", n) for _, n in members]
    if len(olds[0]) > 4:  # 4! orders at most; longer paths keep one rule per difference
        return None
    for order in itertools.permutations(range(len(olds[0]))):
        if all([o[i] for i in order] == n for o, n in zip(olds, news, strict=True)):
            return order
    return None


def _anywhere_rule(old: str, new: str) -> str:
    """Rename path part `old` to `new` wherever it stands between dots."""
    return f"(^|\\.){re.escape(old)}\\.=\\g<1>{new}." if new else f"(^|\\.){re.escape(old)}\\.=\\g<1>"


def _prefix_rule(old: str, new: str) -> str:
    """Rename keys starting with module path `old` to start with `new`."""
    return f"^{re.escape(old)}\\.={new}." if new else f"^{re.escape(old)}\\.="


def _fits(rules: list[str], sd: dict, target: dict, optional=frozenset()) -> bool:
    """Whether `rules`, then the automatic renames, turn `sd` into exactly `target`."""
    try:
        renamed = remap_to_model(apply_key_map(sd, parse_key_map(rules), "<checkpoint>"), target)
    except SeedgeError:
        return False
    need = {k for k in target if not k.endswith("num_batches_tracked") and k not in optional}
    return need <= set(renamed) <= set(target) and all(renamed[k].shape == target[k].shape for k in renamed)
