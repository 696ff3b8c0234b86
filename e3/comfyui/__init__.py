"""ComfyUI: the HTTP/WebSocket client (``client``), the ``comfyui_jobs`` queue with leases,
priorities and retries (``queue``), the worker that runs queued jobs on one server (``worker``,
``e3 worker comfyui``), the shipped API-format workflows (``workflow``, ``workflows/``) and the
task runner pictures and music use (``tasks.run_comfyui_tasks``)."""
