"""Pictures: scene prompts (LLM or extractive) and illustrations (ComfyUI queue or offline painter)."""

from e3_assets.pictures.assets import illustrations, image_prompts
from e3_resources.comfyui import ComfyUIResource
from e3_resources.llm import LLMResource

assets = [image_prompts, illustrations]
resources = {"llm": LLMResource(), "comfyui": ComfyUIResource()}
