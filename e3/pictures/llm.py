"""An OpenAI-compatible chat client that returns validated JSON.

It speaks the OpenAI chat-completions API through the ``openai`` SDK, so a ``base_url`` points it
at Ollama (``http://localhost:11434/v1``), vLLM or LM Studio as well.

Usage::

    client = LLMClient.from_env()            # E3_LLM_MODEL, E3_LLM_BASE_URL, OPENAI_API_KEY
    data = client.complete_json(system, user, validate=my_validator)

``validate`` receives the parsed JSON and returns the value to hand back (or raises ``ValueError``
/ ``TypeError`` / ``KeyError`` / any ``E3Error`` with a reason). A reply that is not JSON or fails
validation is answered with a corrective message and asked again, at most ``max_retries`` times;
then ``LLMError`` carries the last reason. The API key is never logged nor put in a message.
"""

from __future__ import annotations

import json
import logging

import re
from collections.abc import Callable
from typing import Any, TypeVar

from e3.config import getenv, openai_base_url, settings
from e3.errors import E3Error

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_MODEL = "gpt-4o-mini"
_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.S | re.I)


class LLMError(E3Error):
    """The language model could not be reached or never gave a valid reply."""


def llm_available() -> bool:
    """True when an API key (``OPENAI_API_KEY``) or a server (``E3_LLM_BASE_URL`` or
    ``E3_OPENAI_BASE_URL``) is configured."""
    return bool(getenv("OPENAI_API_KEY") or openai_base_url("llm"))


def _parse_json(text: str) -> Any:
    """Parse a reply as JSON, tolerating a Markdown code fence or prose around one object."""
    text = (text or "").strip()
    if not text:
        raise ValueError("the reply was empty")
    m = _FENCE.match(text)
    if m:
        text = m.group(1)
    try:
        return json.loads(text)
    except json.JSONDecodeError as first:
        start, end = text.find("{"), text.rfind("}")
        if 0 <= start < end:
            try:
                return json.loads(text[start:end + 1])
            except json.JSONDecodeError:
                pass
        raise ValueError(f"the reply is not valid JSON ({first.msg} at line {first.lineno} "
                         f"column {first.colno})") from None


class LLMClient:
    """A JSON-mode chat client with validation and bounded corrective retries.

    ``max_retries`` counts the extra attempts after a malformed or invalid reply (so at most
    ``max_retries + 1`` requests per call). Transport errors (connection refused, 5xx, 429) are
    retried by the SDK itself (twice) and then raised as ``LLMError``.
    """

    def __init__(self, model: str, base_url: str | None = None, api_key_env: str = "OPENAI_API_KEY",
                 max_retries: int = 3, timeout: float = 60, temperature: float = 0.7) -> None:
        import openai

        if not model:
            raise LLMError("no LLM model configured (set E3_LLM_MODEL)")
        if max_retries < 0:
            raise LLMError("max_retries must be 0 or more")
        key = getenv(api_key_env)
        if not key and not base_url:
            raise LLMError(f"no LLM configured: set {api_key_env} or E3_LLM_BASE_URL")
        self.model = model
        self.base_url = base_url
        self.max_retries = max_retries
        self.temperature = temperature
        self._secret = key or ""
        self._json_mode = True
        # Local servers (Ollama, LM Studio) need some key string but ignore it.
        self._client = openai.OpenAI(api_key=key or "not-needed", base_url=base_url, timeout=timeout,
                                     max_retries=2)
        #: How many requests the last ``complete_json`` call made (for run metadata).
        self.last_attempts = 0

    @classmethod
    def from_env(cls, **kwargs: Any) -> LLMClient:
        """Build from ``E3_LLM_MODEL`` (default gpt-4o-mini), the base URL of
        :func:`e3.config.openai_base_url` and ``OPENAI_API_KEY``."""
        return cls(model=settings().llm_model,
                   base_url=openai_base_url("llm"), **kwargs)

    def __repr__(self) -> str:  # never shows the key
        return f"LLMClient(model={self.model!r}, base_url={self.base_url!r})"

    def _scrub(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text

    def _request(self, messages: list[dict[str, str]]) -> str:
        import openai

        kwargs: dict[str, Any] = {"model": self.model, "messages": messages, "temperature": self.temperature}
        if self._json_mode:
            kwargs["response_format"] = {"type": "json_object"}
        try:
            resp = self._client.chat.completions.create(**kwargs)
        except openai.BadRequestError as exc:
            # Some servers reject JSON mode; the instructions still ask for JSON, so go on without it.
            if self._json_mode and "response_format" in str(exc):
                log.info("LLM server rejected response_format; retrying without JSON mode")
                self._json_mode = False
                return self._request(messages)
            raise LLMError(self._scrub(f"LLM request rejected: {exc}")) from None
        except openai.AuthenticationError:
            raise LLMError("LLM authentication failed: check the API key") from None
        except openai.APIConnectionError as exc:
            where = self.base_url or "the OpenAI API"
            raise LLMError(self._scrub(f"LLM server unreachable at {where}: {exc}")) from None
        except openai.APIError as exc:
            raise LLMError(self._scrub(f"LLM request failed: {exc.__class__.__name__}: {exc}")) from None
        if not resp.choices:
            return ""
        return resp.choices[0].message.content or ""

    def complete_json(self, system: str, user: str, validate: Callable[[Any], T]) -> T:
        """Ask for one JSON object; return ``validate(parsed)``.

        Raises ``LLMError`` when the server fails or every attempt was malformed or invalid.
        """
        messages = [
            {"role": "system", "content": system.rstrip() + "\nReply with a single JSON object only."},
            {"role": "user", "content": user},
        ]
        reason = "no attempt made"
        self.last_attempts = 0
        for attempt in range(self.max_retries + 1):
            self.last_attempts = attempt + 1
            reply = self._request(messages)
            try:
                return validate(_parse_json(reply))
            except (ValueError, TypeError, KeyError, IndexError, E3Error) as exc:
                reason = str(exc) or exc.__class__.__name__
            log.info("LLM reply %d/%d rejected: %s", attempt + 1, self.max_retries + 1, reason)
            messages = messages + [
                {"role": "assistant", "content": reply[:4000]},
                {"role": "user", "content": f"That reply was rejected: {reason}. Answer again with only "
                                            "the corrected JSON object, following the instructions exactly."},
            ]
        raise LLMError(f"LLM gave no valid reply after {self.max_retries + 1} attempts: {reason}")
