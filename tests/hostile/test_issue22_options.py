"""Issue 22, case 6: options from the user do bounded work. A 50,000-line --class-names file is
checked for repeats in linear time, and --key-map patterns run on a linear-time engine (RE2),
so a catastrophic-backtracking pattern on a long key returns at once."""

from __future__ import annotations

import time

import pytest
from _hostile import no_hang

from seedge.checkpoint.class_names import parse_class_names
from seedge.checkpoint.key_map import apply_key_map, parse_key_map
from seedge.errors import SeedgeError


def test_a_50k_line_class_names_file_is_checked_in_linear_time(tmp_path):
    path = tmp_path / "names.txt"
    path.write_text("\n".join(f"class{i}" for i in range(50_000)) + "\n")
    t0 = time.perf_counter()
    with no_hang(20):
        names = parse_class_names(str(path))
    assert len(names) == 50_000 and time.perf_counter() - t0 < 5


def test_a_repeat_among_300k_names_is_named_quickly(tmp_path):
    path = tmp_path / "names.txt"
    path.write_text("\n".join([f"class{i}" for i in range(300_000)] + ["class123"]) + "\n")
    with no_hang(20), pytest.raises(SeedgeError, match="class name 'class123' appears twice"):
        parse_class_names(str(path))


def test_a_backtracking_key_map_on_a_long_key_returns_at_once():
    rules = parse_key_map(["(a+)+$=x"])
    sd = {"a" * 35 + "!": 0, "fc.weight": 1}
    with no_hang(20), pytest.raises(SeedgeError, match="renames no key"):
        apply_key_map(sd, rules, "ckpt.pt")


def test_the_key_map_still_renames_with_groups():
    rules = parse_key_map([r"(^|\.)stage(\d+)\.=\g<1>layer\g<2>.", r"^module\.(?P<rest>.*)=\g<rest>"])
    out = apply_key_map({"module.stage1.conv.weight": 1, "module.fc.bias": 2}, rules, "ckpt.pt")
    assert out == {"layer1.conv.weight": 1, "fc.bias": 2}


@pytest.mark.parametrize("item, words", [
    ("(a=x", "not a regular expression"),
    ("(?=a)b=x", "not a regular expression"),   # lookahead: not in a linear-time engine
    ("=x", "give REGEX=REPLACEMENT"),
])
def test_a_bad_key_map_is_one_line_and_logs_nothing(item, words, capfd):
    with pytest.raises(SeedgeError) as e:
        parse_key_map([item])
    assert words in str(e.value) and "\n" not in str(e.value) and "b'" not in str(e.value)
    out, err = capfd.readouterr()
    assert out == "" and err == ""  # RE2 logs parse errors to stderr unless told not to


def test_a_replacement_naming_a_missing_group_is_one_line():
    rules = parse_key_map([r"^fc\.=\5"])
    with pytest.raises(SeedgeError, match="bad replacement"):
        apply_key_map({"fc.weight": 1}, rules, "ckpt.pt")


@pytest.mark.parametrize("repl", ["\\", "\\g<nope>"])
def test_a_malformed_replacement_is_one_line(repl):
    rules = parse_key_map([f"^fc\\.={repl}"])
    with pytest.raises(SeedgeError, match="bad replacement"):
        apply_key_map({"fc.weight": 1}, rules, "ckpt.pt")
