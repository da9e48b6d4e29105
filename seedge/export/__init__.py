"""Exporters, one per format; `pipeline.py` runs them into a staged `exported/<name>/`.

This package is also callable: `seedge.export(model_or_source, ...)` is the Python API
(seedge/export/api.py). Importing the package stays light (no torch); calling it loads the rest.
"""

import sys
import types


class _CallablePackage(types.ModuleType):
    # `seedge.export` names this package as soon as any of its modules is imported, so the API
    # function cannot simply live beside it in seedge/__init__.py: the package itself is the function.
    def __call__(self, model_or_source=None, **kwargs):
        from seedge.export.api import export

        return export(model_or_source, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
