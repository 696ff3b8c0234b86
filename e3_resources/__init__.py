"""Dagster ``ConfigurableResource``s: catalog, foundry, TTS, ComfyUI, FFmpeg, LLM and ASR.

Every field defaults to ``None``, meaning "read E3's settings (environment, `.env`, E3_ENV) when
the run starts", so one Definitions object serves alpha, prod and tests alike. ``all_resources``
is the one place they are named: each key once, whichever domains use it.
"""

from e3_resources.catalog import CatalogResource
from e3_resources.foundry import FoundryResource

__all__ = ["CatalogResource", "FoundryResource", "all_resources"]


def all_resources() -> dict:
    """Every resource an E3 asset, check or sensor asks for, by its parameter name."""
    from e3_resources.asr import ASRResource
    from e3_resources.comfyui import ComfyUIResource
    from e3_resources.ffmpeg import FFmpegResource
    from e3_resources.io import FoundryIOManager
    from e3_resources.llm import LLMResource
    from e3_resources.tts import TTSResource

    return {"catalog": CatalogResource(), "foundry": FoundryResource(), "tts": TTSResource(),
            "ffmpeg": FFmpegResource(), "comfyui": ComfyUIResource(), "llm": LLMResource(), "asr": ASRResource(),
            "io_manager": FoundryIOManager()}
