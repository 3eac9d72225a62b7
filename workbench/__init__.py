"""Reference workbench for ten papers on LLM alignment and multimodal safety.

The package is organised by capability, never by paper: ``workbench.papers`` maps each paper onto the
capabilities it uses. Start with ``workbench info`` on the command line or ``notebooks/00_tour.py``.
"""

import os as _os

__version__ = "0.1.0"

# Nothing downloads at run time: any accidental hub access fails fast. Set before transformers or
# huggingface_hub is imported, since both read these variables at import time. A user who really wants the
# hub sets them to 0 explicitly.
for _key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY"):
    _os.environ.setdefault(_key, "1")


class WorkbenchError(Exception):
    """An error whose message is meant for the user: one clear line, no traceback needed."""
