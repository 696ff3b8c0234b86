"""Pictures: scene prompts (LLM or extractive) and illustrations (ComfyUI queue or offline painter)."""

from e3_assets.pictures.assets import illustrations, image_prompts

assets = [image_prompts, illustrations]
