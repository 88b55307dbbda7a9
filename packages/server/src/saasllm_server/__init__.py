"""saasllm gateway server."""

import os

# litellm fetches its pricing map from GitHub at import unless told otherwise; the
# gateway must start offline, and it must be set before any module imports litellm.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

__version__ = "0.1.0"
