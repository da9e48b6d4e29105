"""Eager PyTorch: the FP32 baseline every artifact is compared with.

The model is rebuilt from the export folder's `model.safetensors` + `model.json`
(seedge's own checkpoint format), or, for a model from the user's own code, loaded from
the folder's torch.export program (`baseline.pt2`), which runs without that code; so
verify and bench need nothing but the folder.
"""

from __future__ import annotations

import abc

import numpy as np

from seedge.backends.base import Runner
from seedge.errors import SeedgeError, unknown


def torch_device(device: str):
    """`cpu` or `cuda` as a torch.device; `cuda` without a CUDA device is bad input."""
    import torch

    if device == "cpu":
        return torch.device("cpu")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise SeedgeError(
                f"device '{device}' requested but this torch ({torch.__version__}) sees no CUDA "
                f"device; use --device cpu"
            )
        return torch.device(device)
    raise unknown("device", device, ("cpu", "cuda"))


class TorchModuleRunner(Runner):
    """Shared by eager, TorchScript and AOTInductor: thread pinning, device moves, TF32 policy, sync.

    Options: `tf32` (default False). PyTorch lets cuDNN convolutions use TF32 by default
    on recent GPUs, which is not FP32; a baseline for parity must be real FP32, so TF32
    stays off unless asked for (bench may ask, to time what users get by default).
    """

    devices = ("cpu", "cuda")
    # Process-wide torch settings _load changed and close puts back (None: nothing to put back).
    _saved_threads: int | None = None
    _saved_tf32: tuple[bool, bool] | None = None

    def _load(self) -> None:
        import torch

        self._device = torch_device(self.device)
        self._saved_threads = None
        if self.threads:
            # torch's intra-op pool is process-wide: set it for this runner, restore on close.
            self._saved_threads = torch.get_num_threads()
            torch.set_num_threads(int(self.threads))
        self._saved_tf32 = None
        if self._device.type == "cuda":
            self._saved_tf32 = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
            tf32 = bool(self.options.get("tf32", False))
            torch.backends.cudnn.allow_tf32 = tf32
            torch.backends.cuda.matmul.allow_tf32 = tf32
        try:
            self.module = self._load_module(self._device)
        except BaseException:
            self.close()  # the process-wide thread count and TF32 switches go back as they were
            raise
        # A half-precision module wants half inputs; read the dtype from its weights (a compiled
        # package has none to read: it takes float32).
        params = getattr(self.module, "parameters", None)
        param = next(iter(params()), None) if callable(params) else None
        self._dtype = param.dtype if param is not None else torch.float32

    @abc.abstractmethod
    def _load_module(self, device):
        """The torch module to run (eager model or TorchScript), on `device`."""

    def infer(self, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        import torch

        x = torch.from_numpy(np.ascontiguousarray(feed[self.input_name], dtype=np.float32))
        x = x.to(self._device, dtype=self._dtype)
        with torch.inference_mode():
            out = self.module(x)
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        if self._device.type == "cuda":
            torch.cuda.synchronize(self._device)  # the work is done when infer returns
        return [o.float().cpu().numpy() for o in outs]

    def close(self) -> None:
        import torch

        self.module = None
        if self._saved_threads:
            torch.set_num_threads(self._saved_threads)
            self._saved_threads = None
        if self._saved_tf32 is not None:
            torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = self._saved_tf32
            self._saved_tf32 = None

    def describe(self) -> dict:
        d = super().describe()
        d["dtype"] = str(getattr(self, "_dtype", "")).replace("torch.", "")
        if self.device.startswith("cuda"):
            d["tf32"] = bool(self.options.get("tf32", False))
        return d


class TorchEagerRunner(TorchModuleRunner):
    """`path`: a seedge checkpoint (`model.safetensors` with its `model.json` sidecar), or a
    torch.export program (`.pt2`)."""

    name = "torch"

    def _load_module(self, device):
        from seedge.checkpoint import PROGRAM_SUFFIX, load_model, load_program_module

        if self.path.suffix == PROGRAM_SUFFIX:
            _, module = load_program_module(self.path)
            self.info = {"format": "pt2"}
            return module.to(device)  # already eval-mode ops: the program was exported from eval()
        model, self.info = load_model(self.path)
        return model.to(device).eval()
