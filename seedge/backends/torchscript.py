"""TorchScript (`model.ts`), loaded with `torch.jit.load` onto the CPU or a CUDA device."""

from __future__ import annotations

import warnings

from seedge.backends.torch_eager import TorchModuleRunner
from seedge.errors import SeedgeError, message_line


class TorchScriptRunner(TorchModuleRunner):
    name = "torchscript"

    def _load_module(self, device):
        import torch

        try:
            with warnings.catch_warnings():
                # torch 2.9+ marks TorchScript deprecated on every load; it still is the format
                # C++ and mobile deployments read, and the warning would litter verify's stderr.
                warnings.simplefilter("ignore", FutureWarning)
                module = torch.jit.load(str(self.path), map_location=device)
        except Exception as e:  # noqa: BLE001 - torch raises RuntimeError/ValueError for bad archives
            msg = message_line(e)
            raise SeedgeError(
                f"{self.path}: not a loadable TorchScript archive ({msg[:200]}); re-run `seedge export`"
            ) from None
        return module.eval()
