"""Helpers for tests/workflows: run `seedge` in-process and read its outputs like a user would."""

from __future__ import annotations

import json

import pytest

from seedge.cli import main


def seedge(capsys, *argv, code: int = 0) -> tuple[str, str]:
    """Run `seedge ARGV...`; assert its exit code; return (stdout, stderr)."""
    with pytest.raises(SystemExit) as ex:
        main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert ex.value.code == code, f"seedge {' '.join(map(str, argv))} exited {ex.value.code}:\n{err}"
    return out, err


def seedge_json(capsys, *argv) -> tuple[dict, str]:
    """Run `seedge ARGV... --json`: (the one JSON document on stdout, stderr)."""
    out, err = seedge(capsys, *argv, "--json")
    return json.loads(out), err


def read_json(path) -> dict:
    with open(path) as f:
        return json.load(f)


KINDS = ("circle", "square", "triangle", "cross")  # what seedge.data.shapes draws: one per class


def class_tree(root, classes, n: int, size, splits: tuple[str, ...] = ()):
    """root/<class>/*.png (or root/<split>/<class>/*.png): class k drawn as shape KINDS[k], so a
    model can tell the classes apart; any class names (the seeds': glioma, benign, ...)."""
    from _data_fixtures import write_images

    for k, split in enumerate(splits or ("",)):
        for c, name in enumerate(classes):
            write_images(root / split / name if split else root / name, KINDS[c % len(KINDS)], n, size, seed=k)
    return root
