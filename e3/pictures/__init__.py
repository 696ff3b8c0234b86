"""Pictures: image prompts, the ComfyUI client and queue, and the offline painter."""
