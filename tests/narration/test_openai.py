"""OpenAIBackend against a local server that speaks the /v1/audio/speech shape."""

from __future__ import annotations

import io
import json
import socket
import threading
import wave
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from e3.narration.tts import OpenAIBackend, TTSError, make_backend

KEY = "sk-test-SECRET-0123456789abcdef"
RATE = 24000


def tone(text: str, rate: int = RATE) -> np.ndarray:
    """A real waveform whose length depends on the text: 40 ms per character."""
    n = int(rate * 0.04 * len(text))
    t = np.arange(n) / rate
    return (np.sin(2 * np.pi * 220 * t) * 12000).astype("<i2")


class FakeSpeech:
    def __init__(self):
        self.requests: list[dict] = []
        self.fail_next = 0  # answer this many requests with HTTP 500 first
        self.fail_status = 500
        self.streamed_wav = False
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
                if self.path != "/v1/audio/speech":
                    return self._json(404, {"error": {"message": "no such route"}})
                if self.headers.get("Authorization") != f"Bearer {KEY}":
                    return self._json(401, {"error": {"message": "Incorrect API key provided: "
                                                      + self.headers.get("Authorization", "")[7:],
                                                      "type": "invalid_request_error"}})
                if fake.fail_next:
                    fake.fail_next -= 1
                    return self._json(fake.fail_status, {"error": {"message": "overloaded"}})
                pcm = tone(body["input"]).tobytes()
                if body.get("response_format") == "wav":
                    buf = io.BytesIO()
                    with wave.open(buf, "wb") as w:
                        w.setnchannels(1)
                        w.setsampwidth(2)
                        w.setframerate(RATE)
                        w.writeframes(pcm)
                    data = buf.getvalue()
                    if fake.streamed_wav:  # as streaming servers do: sizes unknown
                        data = data[:4] + b"\xff\xff\xff\xff" + data[8:40] + b"\xff\xff\xff\xff" + data[44:]
                    ctype = "audio/wav"
                else:
                    data, ctype = pcm, "audio/pcm"
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _json(self, status, obj):
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setenv("E3_TEST_TTS_KEY", KEY)
    server = FakeSpeech()
    yield server
    server.close()


def backend(fake, **kw) -> OpenAIBackend:
    kw.setdefault("backoff", 0.01)
    return OpenAIBackend(model="tts-1", voice="nova", base_url=fake.url, api_key_env="E3_TEST_TTS_KEY", **kw)


def test_ok_sentence_by_sentence(fake):
    b = backend(fake)
    assert b.sample_rate == RATE and b.chunk_limit == 4000
    text = "First sentence here. And the second one, Mr. Smith!"
    res = b.synthesize(text)
    assert [r["input"] for r in fake.requests] == ["First sentence here.", "And the second one, Mr. Smith!"]
    assert all(r["model"] == "tts-1" and r["voice"] == "nova" and r["response_format"] == "pcm"
               for r in fake.requests)
    first, second = res.sentences
    # Timings come from the returned audio's real length (40 ms per char) plus the gap.
    assert first.start == 0 and first.end == pytest.approx(0.04 * len(first.text), abs=1e-3)
    assert second.start == pytest.approx(first.end + 0.3, abs=1e-3)
    assert second.end == pytest.approx(res.duration)
    assert res.words is None
    assert np.abs(res.samples).max() > 10000


def test_wav_response_also_streamed_header(fake):
    res = backend(fake, response_format="wav").synthesize("Hello wave.")
    assert res.duration == pytest.approx(0.04 * len("Hello wave."), abs=1e-3)
    fake.streamed_wav = True
    res2 = backend(fake, response_format="wav").synthesize("Hello wave.")
    assert len(res2.samples) == len(res.samples)
    with pytest.raises(TTSError, match="24000 Hz"):
        backend(fake, response_format="wav", sample_rate=22050).synthesize("Hello.")


def test_500_then_ok_is_retried(fake):
    fake.fail_next = 2
    res = backend(fake).synthesize("Retry me.")
    assert len(fake.requests) == 3
    assert res.sentences[0].text == "Retry me."


def test_429_retried_then_gives_up(fake):
    fake.fail_next, fake.fail_status = 10, 429
    with pytest.raises(TTSError, match="429") as info:
        backend(fake, max_retries=2).synthesize("Too many.")
    assert len(fake.requests) == 3
    assert KEY not in str(info.value)


def test_401_is_unauthorised_and_key_never_leaks(fake, monkeypatch):
    monkeypatch.setenv("E3_TEST_TTS_KEY", "sk-wrong-KEY-abcdefabcdef")
    b = backend(fake)
    with pytest.raises(TTSError, match="unauthorised") as info:
        b.synthesize("Let me in.")
    assert len(fake.requests) == 1  # no retry on 401
    msg = str(info.value)
    assert "sk-wrong-KEY" not in msg and "E3_TEST_TTS_KEY" in msg
    assert "sk-wrong" not in b.voice_key() and KEY not in b.voice_key()
    assert "nova" in b.voice_key() and "tts-1" in b.voice_key()


def test_unreachable_port(monkeypatch):
    monkeypatch.setenv("E3_TEST_TTS_KEY", KEY)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    b = OpenAIBackend(base_url=f"http://127.0.0.1:{port}/v1", api_key_env="E3_TEST_TTS_KEY",
                      max_retries=1, backoff=0.01, timeout=2)
    with pytest.raises(TTSError, match=f"cannot reach http://127.0.0.1:{port}/v1") as info:
        b.synthesize("Anyone there?")
    assert KEY not in str(info.value)


def test_missing_key_for_openai_itself(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(TTSError, match="OPENAI_API_KEY"):
        make_backend("openai_tts").synthesize("Hello.")


def test_chunk_limit_and_voice_key_settings(fake):
    b = backend(fake, chunk_limit=20)
    with pytest.raises(TTSError, match="chunk limit"):
        b.synthesize("This text is longer than twenty characters.")
    assert backend(fake, speed=1.2).voice_key() != backend(fake).voice_key()
    assert backend(fake, instructions="calm").voice_key() != backend(fake).voice_key()
    assert not fake.requests
