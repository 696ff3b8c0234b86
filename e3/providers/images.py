"""Paid picture providers (``leonardo``, ``gemini``) and the one entry point the studio calls.

``generate_images(provider, requests)`` makes each ``ImageRequest.out`` PNG: 16:9 is requested
from the service, and the result is resized and centre-cropped to exactly the request's size
(1920x1080 by default) by ``e3.pictures.generate.fit_png``, as for ComfyUI pictures. An existing
``out`` is reused (nothing requested, nothing paid); a Leonardo generation id is saved
(``.provider/<stem>.task.json``) before polling, so a resumed run polls it instead of paying for a
new one. ``image_record`` gives ``images.provider_image_id``.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from e3.config import getenv
from e3.errors import ConfigError
from e3.fsutil import atomic_write_bytes, atomic_write_json
from e3.providers import PAID_IMAGES, Limits, limits, require
from e3.providers.http import Http, ProviderError, Redactor, poll

STATE_DIR = ".provider"


class ImageClient(Protocol):
    name: str

    def generate(self, prompt: str, negative: str, task_file: Path) -> tuple[bytes, str]:
        """Make one 16:9 picture; returns (image bytes, the service's image id)."""


# ------------------------------------------------------------------------------------- leonardo

class Leonardo:
    """Leonardo.Ai REST API v1 (cloud.leonardo.ai/api/rest/v1).

    Followed: docs.leonardo.ai "Quick Start Guide" and API reference createGeneration /
    getGenerationById: ``POST /generations`` with ``prompt``, ``negative_prompt``, ``modelId``,
    ``width``, ``height`` (multiples of 8, at most 1536), ``num_images`` answers
    ``{"sdGenerationJob": {"generationId", "apiCreditCost"}}``; ``GET /generations/{id}`` answers
    ``{"generations_by_pk": {"status": "PENDING"|"COMPLETE"|"FAILED", "generated_images":
    [{"id", "url"}]}}``; bearer auth. Key ``LEONARDO_API_KEY``; ``LEONARDO_MODEL_ID`` picks the
    model; ``LEONARDO_BASE_URL`` overrides the host (tests).
    """

    name = "leonardo"
    BASE_URL = "https://cloud.leonardo.ai/api/rest/v1"
    MODEL_ID = "b24e16ff-06e3-43eb-8d33-4416c2d75876"  # Leonardo Phoenix (docs' examples)
    WIDTH, HEIGHT = 1536, 864  # 16:9, multiples of 8, within the API's 1536 limit

    def __init__(self, api_key: str, *, base_url: str | None = None, model_id: str | None = None,
                 lim: Limits | None = None, **http_kw):
        self.lim = lim or limits()
        self.sleep = http_kw.get("sleep")
        self.http = Http("Leonardo", base_url=(base_url or self.BASE_URL).rstrip("/") + "/", secrets=[api_key],
                         headers={"Authorization": f"Bearer {api_key}", "accept": "application/json"},
                         timeout=self.lim.timeout, retries=self.lim.retries, **http_kw)
        self.model_id = model_id or self.MODEL_ID

    @classmethod
    def from_env(cls, **kw) -> "Leonardo":
        return cls(require("LEONARDO_API_KEY", "the leonardo picture provider needs its API key "
                                               "(https://app.leonardo.ai/api-access)"),
                   base_url=getenv("LEONARDO_BASE_URL"), model_id=getenv("LEONARDO_MODEL_ID"), **kw)

    def generate(self, prompt: str, negative: str, task_file: Path) -> tuple[bytes, str]:
        task = _read(task_file)
        if task and task.get("provider") == self.name:
            generation = task["generation_id"]
        else:
            body = {"prompt": prompt[:1500], "modelId": self.model_id, "width": self.WIDTH,
                    "height": self.HEIGHT, "num_images": 1}
            if negative:
                body["negative_prompt"] = negative
            data = self.http.json("POST", "generations", what="generation", json=body) or {}
            generation = (data.get("sdGenerationJob") or {}).get("generationId")
            if not generation:
                raise self.http.fail("generation", f"no sdGenerationJob.generationId: {json.dumps(data)[:200]}")
            atomic_write_json(task_file, {"provider": self.name, "generation_id": generation})

        def check():
            data = self.http.json("GET", f"generations/{generation}", what=f"generation {generation}") or {}
            g = data.get("generations_by_pk") or {}
            status = str(g.get("status", "")).upper()
            if status == "FAILED":
                raise self.http.fail(f"generation {generation}", g.get("failedReason") or "status FAILED")
            images = g.get("generated_images") or []
            if status == "COMPLETE" and images:
                return True, images[0]
            if status == "COMPLETE":
                raise self.http.fail(f"generation {generation}", "COMPLETE without generated_images")
            return False, None

        kw = {"sleep": self.sleep} if self.sleep else {}
        image = poll(check, service="Leonardo", what=f"generation {generation}", timeout=self.lim.poll_timeout,
                     interval=self.lim.poll_interval, **kw)
        raw = task_file.with_suffix(".raw")
        self.http.download(image["url"], raw, what="image download")
        data = raw.read_bytes()
        raw.unlink(missing_ok=True)
        return data, str(image.get("id") or generation)


# ------------------------------------------------------------------------------------- gemini

class Gemini:
    """Gemini native image generation through Google's ``google-genai`` SDK.

    Followed: ai.google.dev "Image generation with Gemini" and the google-genai reference:
    ``client.models.generate_content(model=..., contents=prompt,
    config=GenerateContentConfig(response_modalities=["IMAGE"], image_config=ImageConfig(aspect_ratio="16:9")))``;
    the picture is the ``inline_data`` of a candidate's part, ``response_id`` names it. Key
    ``GEMINI_API_KEY``; ``GEMINI_IMAGE_MODEL`` (default gemini-2.5-flash-image); ``GEMINI_BASE_URL``
    overrides the endpoint (``HttpOptions(base_url=...)``, tests). The SDK's own retries are off:
    429/5xx are retried here, honouring ``Retry-After``.
    """

    name = "gemini"
    MODEL = "gemini-2.5-flash-image"

    def __init__(self, api_key: str, *, base_url: str | None = None, model: str | None = None,
                 lim: Limits | None = None, sleep: Callable[[float], None] = time.sleep, client=None):
        try:
            from google import genai
            from google.genai import types
        except ImportError:  # pragma: no cover - a dependency of e3
            raise ConfigError("the gemini picture provider needs the google-genai package "
                              "(pip install google-genai)") from None
        self.lim = lim or limits()
        self.types = types
        self.sleep = sleep
        self.redact = Redactor([api_key])
        self.model = model or self.MODEL
        options = types.HttpOptions(base_url=base_url, api_version="v1beta", timeout=int(self.lim.timeout * 1000),
                                    retry_options=types.HttpRetryOptions(attempts=1))
        self.client = client or genai.Client(api_key=api_key, http_options=options)

    @classmethod
    def from_env(cls, **kw) -> "Gemini":
        return cls(require("GEMINI_API_KEY", "the gemini picture provider needs a Gemini API key "
                                             "(https://aistudio.google.com/apikey)"),
                   base_url=getenv("GEMINI_BASE_URL"), model=getenv("GEMINI_IMAGE_MODEL"), **kw)

    def generate(self, prompt: str, negative: str, task_file: Path) -> tuple[bytes, str]:
        from google.genai import errors

        from e3.providers.http import RETRY_STATUSES, retry_after

        text = f"{prompt}. Wide 16:9 background picture." + (f" Avoid: {negative}." if negative else "")
        config = self.types.GenerateContentConfig(response_modalities=["IMAGE"],
                                                  image_config=self.types.ImageConfig(aspect_ratio="16:9"))
        deadline = time.monotonic() + self.lim.poll_timeout
        attempt = 0
        while True:
            try:
                response = self.client.models.generate_content(model=self.model, contents=text, config=config)
                break
            except errors.APIError as exc:
                code = getattr(exc, "code", None)
                message = self.redact(str(getattr(exc, "message", None) or exc))
                if code not in RETRY_STATUSES or attempt >= self.lim.retries or time.monotonic() > deadline:
                    hint = " - check the API key" if code in (400, 401, 403) and "key" in message.lower() else ""
                    raise ProviderError(f"Gemini: image generation failed (HTTP {code}): {message}{hint}",
                                        status=code) from None
                headers_of = getattr(getattr(exc, "response", None), "headers", None)
                wait = None
                if headers_of is not None and headers_of.get("retry-after"):
                    import httpx

                    wait = retry_after(httpx.Response(code, headers={"retry-after": headers_of.get("retry-after")}),
                                       60.0)
                self.sleep(min(60.0, 2.0 ** attempt) if wait is None else wait)
                attempt += 1
            except Exception as exc:  # noqa: BLE001 - timeouts and connection errors from the SDK
                if attempt >= self.lim.retries or time.monotonic() > deadline:
                    raise ProviderError(self.redact(f"Gemini: image generation failed: "
                                                    f"{exc.__class__.__name__}: {exc}")) from None
                self.sleep(min(60.0, 2.0 ** attempt))
                attempt += 1
        for candidate in response.candidates or []:
            for part in (candidate.content.parts if candidate.content else None) or []:
                blob = getattr(part, "inline_data", None)
                if blob is not None and blob.data:
                    data = blob.data if isinstance(blob.data, bytes) else base64.b64decode(blob.data)
                    return data, str(response.response_id or task_file.stem)
        reason = ""
        if response.candidates:
            reason = str(response.candidates[0].finish_reason or "")
        feedback = getattr(response, "prompt_feedback", None)
        if feedback is not None and getattr(feedback, "block_reason", None):
            reason = f"blocked: {feedback.block_reason}"
        raise ProviderError(f"Gemini: the answer has no image ({reason or 'no candidates'})")


# ------------------------------------------------------------------------------------- the studio's entry

def _read(path: Path) -> dict | None:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _state(out: Path, kind: str) -> Path:
    return Path(out).parent / STATE_DIR / f"{Path(out).stem}.{kind}.json"


def client_for(provider: str, **kw) -> ImageClient:
    if provider == "leonardo":
        return Leonardo.from_env(**kw)
    if provider == "gemini":
        return Gemini.from_env(**kw)
    raise ProviderError(f"{provider!r} is not a paid picture provider ({', '.join(PAID_IMAGES)})")


def generate_images(provider: str, requests: Sequence, *, log: Callable[[str], None] = print,
                    client: ImageClient | None = None) -> list:
    """One PNG per ``ImageRequest`` (see the module docstring); ``ImageResult`` list in order."""
    from e3.pictures.generate import ImageResult, fit_png

    results = []
    todo = [r for r in requests if not Path(r.out).is_file()]
    if todo:
        client = client or client_for(provider)
    for r in requests:
        out = Path(r.out)
        if out.is_file():
            results.append(ImageResult(r, out, provider, reused=True))
            continue
        task_file, meta_file = _state(out, "task"), _state(out, "meta")
        task_file.parent.mkdir(parents=True, exist_ok=True)
        data, image_id = client.generate(r.prompt, r.negative, task_file)
        atomic_write_bytes(out, fit_png(data, r.width, r.height))
        atomic_write_json(meta_file, {"provider": provider, "provider_image_id": image_id})
        task_file.unlink(missing_ok=True)
        results.append(ImageResult(r, out, provider, reused=False))
        log(f"{len(results)}/{len(requests)} pictures from {provider}")
    return results


def image_record(path: Path) -> str | None:
    """``images.provider_image_id`` saved for a paid provider's picture, else None."""
    return (_read(_state(Path(path), "meta")) or {}).get("provider_image_id")


def image_source(comfyui) -> str:
    """The ``visual_provider`` of new backgrounds: ``E3_IMAGE_PROVIDER``, or when unset the
    ComfyUI resource's choice (``comfyui`` when configured, else ``dummy``)."""
    from e3.providers import image_provider_name

    chosen = image_provider_name()
    if chosen is None or chosen == "comfyui":
        return comfyui.provider()
    return chosen


def make_backgrounds(requests: Sequence, *, comfyui, engine, log: Callable[[str], None] = print) -> list:
    """The channel's background pictures through the chosen provider (``image_source``)."""
    source = image_source(comfyui)
    if source in PAID_IMAGES:
        return generate_images(source, requests, log=log)
    if source == "dummy" and comfyui.enabled():  # E3_IMAGE_PROVIDER=dummy wins over a ComfyUI URL
        from e3.pictures.generate import generate_images as paint

        return paint(requests, engine=engine, comfyui_url=None, log=log)
    return comfyui.generate_images(requests, engine=engine, log=log)


def provider_image_id(result) -> str:
    """``images.provider_image_id`` for an ``ImageResult``: the service's id, else the request key."""
    return image_record(result.path) or result.request.key
