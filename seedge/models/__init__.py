"""Model zoo: `create_model`, `list_models`, `register_model`, `get_config`.

Importing this package registers seedge's own families and the torchvision SE families;
timm models register lazily on first use of a `timm/` name.
"""

from seedge.models import res_se_net, se_resnet, se_resnext, torchvision_zoo  # noqa: F401  (registration)
from seedge.models.registry import (
    ModelConfig,
    create_model,
    get_config,
    list_models,
    model_info,
    register_model,
)

__all__ = ["ModelConfig", "create_model", "get_config", "list_models", "model_info", "register_model"]
