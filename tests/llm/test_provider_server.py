"""The loopback provider itself: routing, defaults, latency, recording, stopping."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

import pytest

from taskline.testing.provider_server import ProviderServer, Reply


def post(url: str, body: object) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def test_unknown_path_is_404(server: ProviderServer) -> None:
    status, body = post(f"{server.url}/v1/embeddings", {})

    assert (status, body) == (
        404,
        {
            "error": {
                "message": "no endpoint at /v1/embeddings",
                "type": "not_found_error",
                "code": None,
            }
        },
    )


def test_empty_queue_without_default_is_500(server: ProviderServer) -> None:
    status, body = post(f"{server.openai_base_url}/chat/completions", {"model": "m"})

    assert status == 500
    assert body["error"] == {
        "message": "provider server: no reply queued",
        "type": "api_error",
        "code": None,
    }


def test_default_reply_and_latency() -> None:
    with ProviderServer(latency_ms=100, default=Reply.text("same")) as server:
        started = time.perf_counter()
        for _ in range(2):
            status, body = post(f"{server.url}/v1/messages", {"model": "claude"})
            assert status == 200
            assert body["content"] == [{"type": "text", "text": "same"}]
        elapsed = time.perf_counter() - started

    # Each answer waited its latency; no upper bound, which only a loaded machine would test.
    assert elapsed >= 0.2
    assert [r.api for r in server.requests] == ["anthropic", "anthropic"]


def test_stop_ends_a_slow_answer_at_once() -> None:
    server = ProviderServer()
    server.start()
    server.enqueue(Reply.text("late").after(600))
    url = server.openai_base_url

    started = time.perf_counter()
    # the request blocks in a thread of the server; stopping must not wait for it
    threading.Timer(0.2, server.stop).start()
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        post(f"{url}/chat/completions", {"model": "m"})

    # Far short of the answer's 600 s, however loaded the machine.
    assert time.perf_counter() - started < 60


def test_url_needs_a_running_server() -> None:
    with pytest.raises(RuntimeError, match="the provider server is not running"):
        _ = ProviderServer().url
