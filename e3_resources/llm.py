"""The LLM resource: an OpenAI-compatible chat client for image prompts, when one is configured.

Fields default to ``None`` = read E3's settings when a run starts: ``E3_LLM_MODEL`` (default
gpt-4o-mini) and ``E3_LLM_BASE_URL``, else ``E3_OPENAI_BASE_URL`` (Ollama, vLLM, LM Studio ...;
unset = the OpenAI API with
``OPENAI_API_KEY``). With neither a key nor a URL, ``available()`` is False and the assets use the
offline extractive prompt writer instead. The API key is read by the client and never stored here.
"""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from e3.config import openai_base_url, settings


class LLMResource(dg.ConfigurableResource):
    """An OpenAI-compatible chat model (JSON replies validated and retried by ``LLMClient``)."""

    model: str | None = Field(default=None, description="Model name; default E3_LLM_MODEL or gpt-4o-mini.")
    base_url: str | None = Field(default=None, description="OpenAI-compatible server URL; default "
                                                           "E3_LLM_BASE_URL (unset: the OpenAI API).")
    max_retries: int = Field(default=3, description="Corrective retries after a reply that is not valid JSON.")
    timeout: float = Field(default=120.0, description="Seconds per request.")

    def resolved_model(self) -> str:
        return settings(llm_model=self.model).llm_model

    def resolved_base_url(self) -> str | None:
        return self.base_url or openai_base_url("llm")

    def available(self) -> bool:
        """True when a server URL (this resource's or E3_LLM_BASE_URL) or OPENAI_API_KEY is set."""
        from e3.pictures.llm import llm_available

        return bool(self.base_url) or llm_available()

    def client(self):
        """A new ``e3.pictures.llm.LLMClient``; raises ``LLMError`` when nothing is configured."""
        from e3.pictures.llm import LLMClient

        return LLMClient(self.resolved_model(), base_url=self.resolved_base_url(), max_retries=self.max_retries,
                         timeout=self.timeout)
