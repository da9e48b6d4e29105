"""The device runtime: open an export folder and classify images, without torch.

from seedge.runtime import Model
with Model.open("exported/demo") as m:
    print(m.classify("cat.png", top_k=3))
"""

from seedge.runtime.model import RUNTIME_BACKENDS, Model, candidates  # noqa: F401
