"""Backend runners; see `base.py` and the backend table `table.py`. Nothing heavy is imported here."""

from seedge.backends.base import Runner, runner_class  # noqa: F401
from seedge.backends.open import open_artifact, open_baseline, require_backend  # noqa: F401
from seedge.backends.table import BACKENDS  # noqa: F401
