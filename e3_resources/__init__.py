"""Dagster ``ConfigurableResource``s: catalog, foundry, TTS, ComfyUI, FFmpeg and LLM.

Every field defaults to ``None``, meaning "read E3's settings (environment, `.env`, E3_ENV) when
the run starts", so one Definitions object serves alpha, prod and tests alike.
"""

from e3_resources.catalog import CatalogResource
from e3_resources.foundry import FoundryResource

__all__ = ["CatalogResource", "FoundryResource"]
