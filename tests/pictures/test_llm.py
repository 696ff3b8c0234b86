"""LLMClient against a tiny local server that speaks /v1/chat/completions."""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from e3.pictures.llm import LLMClient, LLMError, llm_available

SECRET = "sk-test-SECRET-0123456789abcdef"


class FakeOpenAI:
    """Serves scripted replies in order (the last one repeats); records every request."""

    def __init__(self, replies: list[str], status: int = 200):
        self.replies = replies
        self.status = status
        self.requests: list[dict] = []
        self.headers: list[dict] = []  # only the Authorization header
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(body)
                fake.headers.append({"Authorization": self.headers.get("Authorization")})
                if self.path != "/v1/chat/completions":
                    self.send_response(404)
                    self.end_headers()
                    return
                if fake.status != 200:
                    # A careless server that echoes the credentials back in its error.
                    payload = {"error": {"message": f"bad request from {self.headers.get('Authorization')}",
                                         "type": "invalid_request_error"}}
                else:
                    content = fake.replies[min(len(fake.requests) - 1, len(fake.replies) - 1)]
                    payload = {
                        "id": f"chatcmpl-{len(fake.requests)}", "object": "chat.completion",
                        "created": int(time.time()), "model": body["model"],
                        "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": content}}],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                    }
                data = json.dumps(payload).encode()
                self.send_response(fake.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _validate_colour(obj):
    if not isinstance(obj, dict) or not isinstance(obj.get("colour"), str):
        raise ValueError("expected an object with a string 'colour'")
    return obj["colour"]


def test_malformed_then_valid_reply_is_retried(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    with FakeOpenAI(["this is not json {", '{"shade": 3}', '```json\n{"colour": "amber"}\n```']) as srv:
        client = LLMClient("test-model", base_url=srv.url, max_retries=3, timeout=10)
        assert client.complete_json("You name colours.", "One colour please.", _validate_colour) == "amber"
        assert client.last_attempts == 3
    assert len(srv.requests) == 3
    first = srv.requests[0]
    assert first["model"] == "test-model"
    assert first["response_format"] == {"type": "json_object"}
    # The corrective turn tells the model why its reply was rejected.
    followup = srv.requests[1]["messages"]
    assert followup[-2] == {"role": "assistant", "content": "this is not json {"}
    assert "not valid JSON" in followup[-1]["content"]
    assert "'colour'" in srv.requests[2]["messages"][-1]["content"]
    assert srv.headers[0]["Authorization"] == f"Bearer {SECRET}"


def test_always_bad_reply_raises_after_bounded_attempts(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with FakeOpenAI(['{"shade": 1}']) as srv:
        client = LLMClient("m", base_url=srv.url, max_retries=2, timeout=10)
        with pytest.raises(LLMError, match="after 3 attempts.*'colour'"):
            client.complete_json("s", "u", _validate_colour)
    assert len(srv.requests) == 3


def test_key_never_leaks(monkeypatch, caplog):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    caplog.set_level(logging.DEBUG)
    with FakeOpenAI(["{}"], status=400) as srv:
        client = LLMClient("m", base_url=srv.url, max_retries=1, timeout=10)
        assert SECRET not in repr(client)
        with pytest.raises(LLMError) as info:
            client.complete_json("s", "u", _validate_colour)
    assert srv.requests, "the server was called"
    assert "rejected" in str(info.value)
    assert SECRET not in str(info.value)
    assert SECRET not in caplog.text


def test_unreachable_server_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    client = LLMClient("m", base_url="http://127.0.0.1:9/v1", timeout=2)
    with pytest.raises(LLMError, match="unreachable"):
        client.complete_json("s", "u", _validate_colour)


def test_configuration(monkeypatch):
    monkeypatch.setenv("E3_DOTENV", "/nonexistent.env")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("E3_LLM_BASE_URL", raising=False)
    assert llm_available() is False
    with pytest.raises(LLMError, match="no LLM configured"):
        LLMClient.from_env()
    monkeypatch.setenv("E3_LLM_BASE_URL", "http://127.0.0.1:11434/v1")
    assert llm_available() is True
    monkeypatch.setenv("E3_LLM_MODEL", "llama3.2")
    client = LLMClient.from_env()
    assert (client.model, client.base_url) == ("llama3.2", "http://127.0.0.1:11434/v1")


def test_one_base_url_for_every_openai_client(monkeypatch):
    """With only OPENAI_API_KEY and E3_OPENAI_BASE_URL set, the prompt writer's requests go to
    that server (with the key), never to api.openai.com."""
    from e3.config import openai_base_url
    from e3_resources.llm import LLMResource

    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.delenv("E3_LLM_BASE_URL", raising=False)
    with FakeOpenAI(['{"colour": "teal"}']) as srv:
        monkeypatch.setenv("E3_OPENAI_BASE_URL", srv.url)
        assert openai_base_url("llm") == openai_base_url("tts") == srv.url
        client = LLMClient.from_env(max_retries=0, timeout=10)
        assert client.base_url == srv.url
        assert client.complete_json("s", "u", _validate_colour) == "teal"
        assert LLMResource().resolved_base_url() == srv.url
        assert LLMResource().client().complete_json("s", "u", _validate_colour) == "teal"
    assert len(srv.requests) == 2 and srv.headers[0]["Authorization"] == f"Bearer {SECRET}"
    # the chat model may have its own server
    monkeypatch.setenv("E3_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    assert openai_base_url("llm") == "http://127.0.0.1:9/v1" and openai_base_url("tts") != openai_base_url("llm")
