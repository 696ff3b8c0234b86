"""The ComfyUI resource: which server (or which external workers) makes the pictures.

Fields default to ``None`` = read E3's settings when a run starts:

- ``url``: ``E3_COMFYUI_URL``; unset means no server, and pictures come from the offline painter;
- ``external_workers``: ``E3_COMFYUI_EXTERNAL_WORKERS`` (1/true/yes); the assets then only
  enqueue jobs and wait for ``e3 worker comfyui --url URL`` processes, one per server;
- ``checkpoint``: ``E3_COMFYUI_CHECKPOINT``, the model file set on the workflow's "Checkpoint" node;
- ``workflow``: ``E3_COMFYUI_WORKFLOW``, a shipped workflow name or an API-format JSON path
  (default ``sdxl_text_to_image``);
- ``retry_limit`` / ``lease_seconds`` / ``timeout``: ``E3_COMFYUI_RETRY_LIMIT`` (3),
  ``E3_COMFYUI_LEASE_SECONDS`` (300), ``E3_COMFYUI_TIMEOUT`` (300 s to wait for one job; a
  batch waits at most that times its jobs and attempts).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import dagster as dg
from pydantic import Field

from e3.config import settings

class ComfyUIResource(dg.ConfigurableResource):
    """A ComfyUI server and the ``comfyui_jobs`` queue that feeds it."""

    url: str | None = Field(default=None, description="ComfyUI base URL; default E3_COMFYUI_URL "
                                                      "(unset: the offline painter).")
    external_workers: bool | None = Field(default=None, description="Only enqueue and wait for `e3 worker "
                                                                    "comfyui`; default E3_COMFYUI_EXTERNAL_WORKERS.")
    checkpoint: str | None = Field(default=None, description="Checkpoint file; default E3_COMFYUI_CHECKPOINT "
                                                             "(unset: the workflow's own).")
    workflow: str | None = Field(default=None, description="Workflow name or API-format JSON path; default "
                                                           "E3_COMFYUI_WORKFLOW or sdxl_text_to_image.")
    retry_limit: int | None = Field(default=None, description="Attempts per job; default E3_COMFYUI_RETRY_LIMIT or 3.")
    lease_seconds: float | None = Field(default=None, description="Worker lease; default E3_COMFYUI_LEASE_SECONDS "
                                                                  "or 300.")
    timeout: float | None = Field(default=None, description="Seconds to wait for one job; default "
                                                            "E3_COMFYUI_TIMEOUT or 300.")
    unreachable_backoff: float = Field(default=5.0, description="Pause after a server that cannot be reached.")

    def resolved_url(self) -> str | None:
        return settings(comfyui_url=self.url).comfyui_url

    def uses_external_workers(self) -> bool:
        return settings(comfyui_external_workers=self.external_workers).comfyui_external_workers

    def resolved_checkpoint(self) -> str | None:
        return settings(comfyui_checkpoint=self.checkpoint).comfyui_checkpoint

    def resolved_workflow(self) -> str:
        from e3.pictures.generate import DEFAULT_WORKFLOW

        return settings(comfyui_workflow=self.workflow).comfyui_workflow or DEFAULT_WORKFLOW

    def enabled(self) -> bool:
        """True when pictures go through ComfyUI (a URL, or external workers), not the painter."""
        return bool(self.resolved_url()) or self.uses_external_workers()

    def provider(self) -> str:
        """The ``visual_provider`` of new pictures: ``comfyui`` or ``dummy`` (the offline painter)."""
        from e3.pictures.painter import PROVIDER

        return "comfyui" if self.enabled() else PROVIDER

    def picture_source(self) -> str:
        """Who paints new pictures, as part of their content hash: a switch from the offline
        painter to ComfyUI, or to another workflow or checkpoint, makes new files."""
        provider = self.provider()
        if provider != "comfyui":
            return provider
        return f"comfyui:{self.resolved_workflow()}:{self.resolved_checkpoint() or ''}"

    def generate_images(self, requests: Sequence, *, engine, priority: int = 100,
                        on_done: Callable | None = None, log: Callable[[str], None] = print) -> list:
        """``e3.pictures.generate.generate_images`` with this resource's settings."""
        from e3.pictures.generate import generate_images

        chosen = settings(comfyui_timeout=self.timeout, comfyui_retry_limit=self.retry_limit,
                          comfyui_lease_seconds=self.lease_seconds)
        return generate_images(
            requests, engine=engine, comfyui_url=self.resolved_url(), workflow=self.resolved_workflow(),
            checkpoint=self.resolved_checkpoint(), external_workers=self.uses_external_workers(),
            priority=priority, timeout=chosen.comfyui_timeout, on_done=on_done, log=log,
            retry_limit=chosen.comfyui_retry_limit, lease_seconds=chosen.comfyui_lease_seconds,
            unreachable_backoff=self.unreachable_backoff)
