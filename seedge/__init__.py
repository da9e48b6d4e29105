"""seedge: Squeeze-and-Excitation classifiers from PyTorch to devices.

The package root stays light (no torch import) so that `seedge --help` and the
torch-free runtime start fast; import submodules for the API.

    import seedge
    seedge.export(my_module, input_size=(3, 224, 224))   # see seedge/export/api.py
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    # `seedge.export` is a package that is also callable (the Python API). It is imported on
    # first use, and imports nothing heavy until called, so `import seedge` stays torch-free.
    if name == "export":
        import seedge.export

        return seedge.export
    raise AttributeError(f"module 'seedge' has no attribute {name!r}")
