"""Grad-CAM (Selvaraju et al.): where in the image the network looked for its answer.

Target layer: the last module, in execution order, whose output is a 4-D feature map
with more than one spatial position -- i.e. the last conv stage before global pooling
(`layer4` in SE-ResNets, `features` in torchvision MobileNetV3/EfficientNet, the last
stage of the Res-SE net). Found by tracing one forward pass, so it works for any family.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seedge.errors import SeedgeError
from seedge.preprocess import denormalize


def find_target_layer(model, input_size) -> str:
    """Dotted name of the module Grad-CAM should look at (see module docstring)."""
    import torch

    order: list[tuple[str, tuple]] = []
    hooks = [m.register_forward_hook(lambda mod, inp, out, name=name: order.append((name, _shape(out))))
             for name, m in model.named_modules() if name]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            p = next(model.parameters())
            model(torch.zeros((1, *input_size), dtype=p.dtype, device=p.device))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    spatial = [name for name, shape in order if len(shape) == 4 and shape[2] * shape[3] > 1]
    if not spatial:
        raise SeedgeError(f"{getattr(model, 'seedge_arch', 'model')}: no 4-D feature map with spatial extent "
                          f"at input {input_size}; Grad-CAM needs a convolutional stage")
    return spatial[-1]


def _shape(out) -> tuple:
    return tuple(out.shape) if hasattr(out, "shape") else ()


def gradcam(model, x: np.ndarray, target_layer: str | None = None, classes=None) -> tuple[np.ndarray, np.ndarray]:
    """Heat maps (N, H, W) in [0, 1] at input resolution, and the class each map explains
    (`classes`, default: the predicted class). x: float32 NCHW, preprocessed."""
    import torch
    import torch.nn.functional as F

    model.eval()
    name = target_layer or find_target_layer(model, x.shape[1:])
    layer = dict(model.named_modules())[name]
    store = {}

    def hook(mod, inp, out):
        store["act"] = out
        out.register_hook(lambda g: store.__setitem__("grad", g))
        return out.clone()  # later in-place ops (ReLU(inplace)) must not touch the saved activation

    handle = layer.register_forward_hook(hook)
    try:
        p = next(model.parameters())
        xt = torch.from_numpy(np.ascontiguousarray(x)).to(p.device, p.dtype)
        with torch.enable_grad():
            logits = model(xt)
            target = logits.argmax(1) if classes is None else torch.as_tensor(np.asarray(classes), device=p.device)
            model.zero_grad(set_to_none=True)
            logits.gather(1, target.view(-1, 1)).sum().backward()
    finally:
        handle.remove()
    act, grad = store["act"].detach(), store["grad"].detach()
    weights = grad.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * act).sum(1, keepdim=True))
    cam = F.interpolate(cam, size=x.shape[2:], mode="bilinear", align_corners=False)[:, 0]
    flat = cam.flatten(1)
    lo, hi = flat.min(1).values.view(-1, 1, 1), flat.max(1).values.view(-1, 1, 1)
    cam = (cam - lo) / (hi - lo).clamp_min(1e-12)
    model.zero_grad(set_to_none=True)
    return cam.cpu().numpy(), target.cpu().numpy()


def save_overlays(model, x: np.ndarray, y: np.ndarray, spec, class_names: list[str], out_dir: Path,
                  target_layer: str | None = None) -> list[Path]:
    """One PNG per image: the input and its Grad-CAM overlay side by side. Returns the paths."""
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    layer = target_layer or find_target_layer(model, x.shape[1:])
    cams, pred = gradcam(model, x, layer)
    jet = colormaps["jet"]
    paths = []
    for i in range(len(x)):
        img = denormalize(x[i], spec)
        overlay = np.clip(0.55 * img + 0.45 * jet(cams[i])[:, :, :3], 0, 1)
        fig = Figure(figsize=(6, 3.2), dpi=100)
        FigureCanvasAgg(fig)
        for k, (panel, title) in enumerate(((img, f"true: {class_names[int(y[i])]}"),
                                            (overlay, f"pred: {class_names[int(pred[i])]}  (Grad-CAM {layer})"))):
            ax = fig.add_subplot(1, 2, k + 1)
            ax.imshow(panel, interpolation="nearest")
            ax.set_title(title, fontsize=8)
            ax.axis("off")
        fig.tight_layout()
        path = out_dir / f"gradcam_{i:03d}.png"
        fig.savefig(path)
        paths.append(path)
    return paths
