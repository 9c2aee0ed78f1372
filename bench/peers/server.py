"""A loopback OpenAI chat-completions server with per-conversation scripted trajectories.

    .venv-peers/bin/python -m bench.peers.server --port 8400 --latency-ms 200

taskline's `ProviderServer` answers from one shared queue, so concurrent
conversations would steal each other's replies. This server decides each reply
from the request itself, so any number of conversations can run at once:

    turn = 1 + the highest N of the `NOTE-N-END` markers in the request, else 0
           (file notes-N.txt holds that marker, so the count is right whatever
           role a framework gives tool results: smolagents sends them as user)
    turn <  T-1  -> one call of `read_file` with {"path": "notes-<turn>.txt"}
    turn == T-1  -> the last turn, by the model name's suffix: `text` answers
                    "done"; `submit` calls `submit_work` {"summary": "done"}
                    (taskline); `final` calls `final_answer` {"answer": "done"}
                    (smolagents' ToolCallingAgent ends only that way)

T and the suffix come from the model name, `bench-T-SUFFIX` (e.g. `bench-20-text`).
Every answer is delayed by `--latency-ms` (an asyncio sleep: the server never
blocks, so a thousand conversations in flight cost it no threads).

`GET /stats` returns {"requests": n, "server_ms": s}: the time spent between
reading a request and writing its answer, latency included, summed over all
requests since start (clients subtract it from their wall time).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
from typing import Any

USAGE = {"prompt_tokens": 500, "completion_tokens": 20, "total_tokens": 520}


class Stats:
    """Totals over every chat-completions request answered."""

    def __init__(self) -> None:
        self.requests = 0
        self.server_ms = 0.0


NOTE = re.compile(rb"NOTE-(\d+)-END")
LAST_TURN = {
    "submit": ("submit_work", {"summary": "done"}),
    "final": ("final_answer", {"answer": "done"}),
}


def parse_model(model: str) -> tuple[int, str]:
    """(turns, how the last turn ends) from `bench-T-SUFFIX`."""
    _, turns, suffix = model.split("-")
    return int(turns), suffix


def turn_of(raw: bytes) -> int:
    return max((int(n) + 1 for n in NOTE.findall(raw)), default=0)


def tool_call(turn: int, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"call_{turn}",
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments)},
    }


def answer(body: dict[str, Any], turn: int) -> dict[str, Any]:
    """The chat-completions answer to one request, from the conversation so far."""
    turns, suffix = parse_model(body["model"])
    message: dict[str, Any] = {"role": "assistant", "content": None}
    finish = "tool_calls"
    if turn < turns - 1:
        message["tool_calls"] = [tool_call(turn, "read_file", {"path": f"notes-{turn}.txt"})]
    elif suffix in LAST_TURN:
        name, arguments = LAST_TURN[suffix]
        message["tool_calls"] = [tool_call(turn, name, arguments)]
    else:
        message["content"] = "done"
        finish = "stop"
    return {
        "id": f"chatcmpl-{turn}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body["model"],
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": USAGE,
    }


class Server:
    """The asyncio HTTP/1.1 server (keep-alive, Content-Length bodies only)."""

    def __init__(self, latency_ms: float) -> None:
        self.latency_seconds = latency_ms / 1000
        self.stats = Stats()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                started = time.perf_counter()
                request_line, *header_lines = head.decode("latin-1").split("\r\n")
                method, path, _ = request_line.split(" ", 2)
                headers = {}
                for line in header_lines:
                    if ":" in line:
                        key, value = line.split(":", 1)
                        headers[key.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0"))
                raw = await reader.readexactly(length) if length else b""
                status, payload = await self.route(method, path, raw)
                data = json.dumps(payload).encode()
                writer.write(
                    f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n"
                    f"content-length: {len(data)}\r\n\r\n".encode()
                    + data
                )
                await writer.drain()
                if path.endswith("/chat/completions"):
                    self.stats.requests += 1
                    self.stats.server_ms += (time.perf_counter() - started) * 1000
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def route(self, method: str, path: str, raw: bytes) -> tuple[str, Any]:
        if method == "GET" and path.startswith("/stats"):
            return "200 OK", {"requests": self.stats.requests, "server_ms": self.stats.server_ms}
        if method == "POST" and path.endswith("/chat/completions"):
            body = json.loads(raw)
            if self.latency_seconds:
                await asyncio.sleep(self.latency_seconds)
            return "200 OK", answer(body, turn_of(raw))
        return "404 Not Found", {"error": {"message": f"no route {method} {path}"}}


async def serve(port: int, latency_ms: float, ready: str | None) -> None:
    server = Server(latency_ms)
    listener = await asyncio.start_server(server.handle, "127.0.0.1", port, backlog=4096)
    bound = listener.sockets[0].getsockname()[1]
    print(bound, flush=True)
    if ready:
        with open(ready, "w") as f:
            f.write(str(bound))
    async with listener:
        await listener.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0: any free port (printed)")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--ready-file", help="write the bound port here once listening")
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.latency_ms, args.ready_file))


if __name__ == "__main__":
    main()
