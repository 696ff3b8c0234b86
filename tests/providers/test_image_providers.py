"""Leonardo and Gemini clients end to end against local fakes of their documented APIs."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from PIL import Image as PILImage

from e3.pictures.generate import ImageRequest
from e3.providers import Limits
from e3.providers.http import ProviderError
from e3.providers.images import Gemini, Leonardo, generate_images, image_record
from tests.providers.fakes import png_bytes

KEY = "leo-secret-key-987654321"
LIM = Limits(timeout=5, poll_timeout=0.5, retries=2, poll_interval=0.01)


def request(tmp_path: Path, i: int = 1) -> ImageRequest:
    return ImageRequest(key=f"vj:bg:{i:02d}", prompt="a misty forest at dawn", negative="text, people",
                        out=tmp_path / "images" / f"bg-{i:02d}-abc.png", width=1920, height=1080)


def leonardo(fake, sleeps):
    return Leonardo(KEY, base_url=f"{fake.url}/api/rest/v1", lim=LIM, sleep=sleeps.append)


def serve_leonardo(fake, states=("PENDING", "COMPLETE"), download=None):
    fake.route("POST", "/api/rest/v1/generations",
               (200, {}, {"sdGenerationJob": {"generationId": "gen-1", "apiCreditCost": 11}}))
    fake.route("GET", "/api/rest/v1/generations/gen-1", [
        (200, {}, {"generations_by_pk": {"id": "gen-1", "status": s, "generated_images": [
            {"id": "img-7", "url": f"{fake.url}/cdn/img-7.jpg", "nsfw": False}] if s == "COMPLETE" else []}})
        for s in states])
    fake.route("GET", "/cdn/img-7.jpg", download or (200, {}, png_bytes()))


def test_leonardo_generates_polls_and_fits_1920x1080(fake, tmp_path):
    sleeps = []
    serve_leonardo(fake)
    r = request(tmp_path)
    [result] = generate_images("leonardo", [r], client=leonardo(fake, sleeps), log=lambda _: None)
    assert result.provider == "leonardo" and not result.reused
    assert PILImage.open(result.path).size == (1920, 1080)
    assert image_record(result.path) == "img-7"
    post = fake.calls("POST", "/api/rest/v1/generations")[0]
    assert post["headers"]["authorization"] == f"Bearer {KEY}"
    assert post["body"]["width"] * 9 == post["body"]["height"] * 16  # 16:9 requested
    assert post["body"]["negative_prompt"] == "text, people"
    # a rerun reuses the file: nothing requested, nothing paid
    [again] = generate_images("leonardo", [r], client=leonardo(fake, sleeps))
    assert again.reused and len(fake.calls("POST", "/api/rest/v1/generations")) == 1


def test_leonardo_resumes_a_saved_generation(fake, tmp_path):
    serve_leonardo(fake, states=("COMPLETE",))
    r = request(tmp_path)
    state = Path(r.out).parent / ".provider" / "bg-01-abc.task.json"
    state.parent.mkdir(parents=True)
    state.write_text(json.dumps({"provider": "leonardo", "generation_id": "gen-1"}))
    generate_images("leonardo", [r], client=leonardo(fake, []))
    assert fake.calls("POST", "/api/rest/v1/generations") == []


def test_leonardo_500_then_429_retry_after_then_ok(fake, tmp_path):
    sleeps = []
    serve_leonardo(fake, states=("COMPLETE",))
    fake.route("POST", "/api/rest/v1/generations", [
        (500, {}, {"error": "boom"}), (429, {"Retry-After": "3"}, {"error": "rate limited"}),
        (200, {}, {"sdGenerationJob": {"generationId": "gen-1"}})])
    generate_images("leonardo", [request(tmp_path)], client=leonardo(fake, sleeps))
    assert 3.0 in sleeps and len(fake.calls("POST", "/api/rest/v1/generations")) == 3


def test_leonardo_401_never_finishes_and_404(fake, tmp_path):
    fake.route("POST", "/api/rest/v1/generations", (401, {}, {"error": "Invalid token", "code": "invalid-jwt"}))
    with pytest.raises(ProviderError) as e:
        generate_images("leonardo", [request(tmp_path, 1)], client=leonardo(fake, []))
    assert "Invalid token" in str(e.value) and KEY not in str(e.value)

    serve_leonardo(fake, states=("PENDING",))
    with pytest.raises(ProviderError, match="did not finish"):
        generate_images("leonardo", [request(tmp_path, 2)], client=leonardo(fake, []))

    serve_leonardo(fake, states=("COMPLETE",), download=(404, {}, "Not Found"))
    with pytest.raises(ProviderError, match="HTTP 404"):
        generate_images("leonardo", [request(tmp_path, 3)], client=leonardo(fake, []))
    assert not Path(request(tmp_path, 3).out).exists()


def test_leonardo_failed_generation(fake, tmp_path):
    serve_leonardo(fake, states=("FAILED",))
    with pytest.raises(ProviderError, match="FAILED"):
        generate_images("leonardo", [request(tmp_path)], client=leonardo(fake, []))


# ------------------------------------------------------------------------------------- gemini
# The SDK accepts HttpOptions(base_url=...), so it talks to this fake of the Gemini REST API.

GKEY = "AIzaFakeGeminiKey-0123456789"
GEN = r"/v1beta/models/([^/:]+):generateContent"


def gemini_ok(req, model):
    return 200, {}, {"responseId": "resp-42", "candidates": [{"content": {"role": "model", "parts": [
        {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(png_bytes(1344, 768)).decode()}}]},
        "finishReason": "STOP"}]}


def gemini(fake, sleeps):
    return Gemini(GKEY, base_url=fake.url, lim=LIM, sleep=sleeps.append)


def test_gemini_through_the_sdk_asks_16_9_and_fits(fake, tmp_path):
    fake.route("POST", GEN, gemini_ok)
    [result] = generate_images("gemini", [request(tmp_path)], client=gemini(fake, []))
    assert PILImage.open(result.path).size == (1920, 1080)
    assert image_record(result.path) == "resp-42"
    call = fake.calls("POST", GEN)[0]
    assert "gemini-2.5-flash-image" in call["path"]
    assert call["headers"]["x-goog-api-key"] == GKEY
    config = call["body"]["generationConfig"]
    assert config["responseModalities"] == ["IMAGE"] and config["imageConfig"]["aspectRatio"] == "16:9"


def test_gemini_429_retry_after_500_and_401(fake, tmp_path):
    sleeps = []
    fake.route("POST", GEN, [
        (429, {"Retry-After": "4"}, {"error": {"code": 429, "message": "Resource exhausted", "status": "RESOURCE_EXHAUSTED"}}),
        (500, {}, {"error": {"code": 500, "message": "internal", "status": "INTERNAL"}}),
        gemini_ok])
    generate_images("gemini", [request(tmp_path, 1)], client=gemini(fake, sleeps))
    assert 4.0 in sleeps and len(fake.calls("POST", GEN)) == 3

    fake.route("POST", GEN, (401, {}, {"error": {"code": 401, "message": f"API key not valid: {GKEY}",
                                                  "status": "UNAUTHENTICATED"}}))
    with pytest.raises(ProviderError) as e:
        generate_images("gemini", [request(tmp_path, 2)], client=gemini(fake, []))
    assert "API key not valid" in str(e.value) and GKEY not in str(e.value)


def test_gemini_answer_without_image(fake, tmp_path):
    fake.route("POST", GEN, (200, {}, {"candidates": [{"content": {"parts": [{"text": "no"}]},
                                                        "finishReason": "SAFETY"}]}))
    with pytest.raises(ProviderError, match="no image"):
        generate_images("gemini", [request(tmp_path)], client=gemini(fake, []))
