"""ComfyUI workflows in API format, shipped with E3 (loaded with ``e3.comfyui.workflow.load_workflow``)."""
