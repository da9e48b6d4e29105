"""`train --tensorboard` (the README's seed-004 commands) has an extra to install, named where it is needed."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_tensorboard_extra_is_defined_and_named_in_readme_and_the_message():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(req.startswith("tensorboard") for req in extras["tensorboard"])
    readme = (ROOT / "README.md").read_text()
    seed004 = readme[readme.index("**004,"):]
    assert "--tensorboard" in seed004 and "'.[tensorboard]'" in seed004[: seed004.index("--tensorboard")]
    from seedge.train.loop import TENSORBOARD_MISSING

    assert "'.[tensorboard]'" in TENSORBOARD_MISSING
