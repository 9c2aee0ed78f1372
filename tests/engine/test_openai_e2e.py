"""Whole lifecycles through the `openai:` adapter: the real `openai` SDK against a loopback server."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from taskline import Status, Taskline
from taskline.llm.openai_compat import OpenAICompatModel
from taskline.llm.pricing import PriceBook
from taskline.llm.retry import RetryPolicy
from taskline.llm.types import ToolCall, Usage
from taskline.protocols import Model
from taskline.testing.provider_server import ProviderServer, Reply

from .scripting import CREATED_AND_ASSIGNED, STARTED, SUBMITTED, failure, metrics_of, runs_of, trail

D = Decimal
# Retries wait a few milliseconds, not the production half second.
# An attempt's time limit no answer on loopback comes near, even on a loaded machine.
FAST_RETRY = RetryPolicy(max_attempts=3, timeout_seconds=60.0, base_delay_seconds=0.01)
USAGE = Usage(input_tokens=1000, output_tokens=100)
# gpt-4o-mini in genai-prices: $0.15 per Mtok in, $0.60 out
CALL_COST = D("0.00021")


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with ProviderServer() as provider:
        yield provider


@pytest.fixture
def openai_tl(tl: Taskline, server: ProviderServer, tmp_path: Path) -> Taskline:
    """`tl` whose agents talk to gpt-4o-mini on the loopback server, priced by genai-prices."""

    def factory(_ref: str) -> Model:
        return OpenAICompatModel(
            "gpt-4o-mini",
            base_url=server.openai_base_url,
            api_key="test-key",
            retry=FAST_RETRY,
            genai_provider_id="openai",
            price_book=PriceBook(),
        )

    tl.home, tl.model_factory = tmp_path / "home", factory
    return tl


def tool(call_id: str, name: str, **arguments: object) -> Reply:
    return Reply.tool_calls(ToolCall(id=call_id, name=name, arguments=arguments), usage=USAGE)


def test_full_lifecycle_through_the_openai_adapter(
    openai_tl: Taskline, server: ProviderServer
) -> None:
    tl = openai_tl
    server.enqueue(
        tool("call_w", "write_file", path="hello.txt", content="hello world\n"),
        tool("call_s", "submit_work", summary="Wrote hello.txt with a greeting."),
    )
    task = tl.create_task(
        "Write a greeting", criteria=["hello.txt says hello"], checks=["grep -q hello hello.txt"]
    )
    tl.assign(task.id, "coder")

    done = tl.run_task(task.id)

    assert (done.status, done.summary) == (Status.COMPLETED, "Wrote hello.txt with a greeting.")
    assert trail(tl, task.id) == [
        *CREATED_AND_ASSIGNED,
        STARTED,
        SUBMITTED,
        (Status.IN_REVIEW, Status.COMPLETED, "checks", "all 1 checks passed"),
    ]
    assert runs_of(tl, task.id) == [
        (1, "first", "submitted", "Wrote hello.txt with a greeting.", None, None)
    ]
    [artifact] = tl.artifacts(task.id)
    assert (artifact.path, artifact.change, artifact.size, artifact.sha256) == (
        "hello.txt", "created", 12, hashlib.sha256(b"hello world\n").hexdigest(),
    )  # fmt: skip
    records = sorted(tl.cost_records(task.id), key=lambda r: r.turn)
    assert [
        (r.turn, r.purpose, r.agent, r.provider, r.model, r.input_tokens, r.output_tokens,
         r.cost_usd, r.price_source, r.finish_reason, r.attempts, r.error)
        for r in records
    ] == [
        (1, "agent", "coder", "openai", "gpt-4o-mini", 1000, 100, CALL_COST, "genai-prices",
         "tool_calls", 1, None),
        (2, "agent", "coder", "openai", "gpt-4o-mini", 1000, 100, CALL_COST, "genai-prices",
         "tool_calls", 1, None),
    ]  # fmt: skip
    assert all(r.latency_ms > 0 for r in records)
    assert metrics_of(tl, task.id) == (2, 2200, 2000, 200, 2 * CALL_COST, 0, 2, 1)
    # What went over the wire: the task and the tools, then the tool result.
    first, second = server.requests
    assert first.path == "/v1/chat/completions"
    assert first.headers["authorization"] == "Bearer test-key"
    assert first.body["model"] == "gpt-4o-mini"
    assert [m["role"] for m in first.body["messages"]] == ["system", "user"]
    assert "# Task: Write a greeting" in first.body["messages"][1]["content"]
    assert [t["function"]["name"] for t in first.body["tools"]] == [
        "list_dir", "read_file", "write_file", "edit_file", "run_command", "submit_work",
    ]  # fmt: skip
    assert second.body["messages"][2:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_w",
                    "type": "function",
                    "function": {
                        "name": "write_file",
                        "arguments": '{"path": "hello.txt", "content": "hello world\\n"}',
                    },
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_w", "content": "wrote 12 bytes to hello.txt"},
    ]


def test_server_errors_after_retries_fail_the_task(
    openai_tl: Taskline, server: ProviderServer
) -> None:
    tl = openai_tl
    server.enqueue(
        tool("call_1", "list_dir", path="."),
        Reply.error(500, "overloaded"),
        Reply.error(500, "overloaded"),
        Reply.error(500, "still overloaded"),
    )
    task = tl.create_task("Provider goes down")
    tl.assign(task.id, "coder")

    tl.run_task(task.id)

    message = "openai:gpt-4o-mini failed after 3 attempts: HTTP 500: still overloaded"
    assert failure(tl, task.id) == (Status.FAILED, "provider_error", message)
    assert trail(tl, task.id) == [
        *CREATED_AND_ASSIGNED,
        STARTED,
        (Status.IN_PROGRESS, Status.FAILED, "system", message),
    ]
    assert runs_of(tl, task.id) == [(1, "first", "failed", None, "provider_error", message)]
    assert len(server.requests) == 4
    assert [(r.turn, r.input_tokens, r.cost_usd) for r in tl.cost_records(task.id)] == [
        (1, 1000, CALL_COST)
    ]
    assert metrics_of(tl, task.id) == (1, 1100, 1000, 100, CALL_COST, 0, 1, 1)


def test_unreadable_answer_is_billed_then_fails_the_task(
    openai_tl: Taskline, server: ProviderServer
) -> None:
    tl = openai_tl
    usage = {"prompt_tokens": 700, "completion_tokens": 50, "total_tokens": 750}
    server.enqueue(Reply.raw({"id": "x", "choices": [], "usage": usage}))
    task = tl.create_task("Garbled answer")
    tl.assign(task.id, "coder")

    tl.run_task(task.id)

    message = (
        "openai:gpt-4o-mini failed after 1 attempt: unreadable response: no choices in the response"
    )
    assert failure(tl, task.id) == (Status.FAILED, "provider_error", message)
    [record] = tl.cost_records(task.id)
    cost = D("0.000135")  # 700 in, 50 out at gpt-4o-mini's prices: billed though unreadable
    assert (
        record.turn, record.input_tokens, record.output_tokens, record.cost_usd,
        record.price_source, record.finish_reason, record.error,
    ) == (
        1, 700, 50, cost, "genai-prices", "error", "openai:gpt-4o-mini failed after 1 attempt:"
        " unreadable response: no choices in the response",
    )  # fmt: skip
    assert record.raw_usage == usage  # the provider's own figures, as received
    assert metrics_of(tl, task.id) == (0, 750, 700, 50, cost, 0, 0, 1)


def test_timeout_cancels_the_model_call_in_flight(
    openai_tl: Taskline, server: ProviderServer
) -> None:
    tl = openai_tl
    server.enqueue(tool("call_1", "list_dir", path="."), Reply.text("late").after(600))
    # Long enough for the first turn on a loaded machine; the second call never ends by
    # itself, and its attempt would time out only after 60 s.
    task = tl.create_task("Slow provider", timeout_seconds=8)
    tl.assign(task.id, "coder")

    started = time.monotonic()
    tl.run_task(task.id)
    elapsed = time.monotonic() - started

    assert elapsed < 60, f"the slow call was not cancelled: the run took {elapsed:.1f} s"
    message = "the run took longer than 8 s"
    assert failure(tl, task.id) == (Status.FAILED, "timeout", message)
    assert len(server.requests) == 2
    # The first call was billed and is kept; the cancelled one was sent and never
    # answered: it may have been billed, so it is kept as lost, its cost unknown.
    assert [(r.turn, r.state, r.cost_usd) for r in tl.cost_records(task.id)] == [
        (1, "answered", CALL_COST),
        (2, "lost", None),
    ]
    # So the task's cost is unknown: what was paid is at least the first call.
    assert metrics_of(tl, task.id) == (1, 1100, 1000, 100, None, 1, 1, 1)
    metrics = tl.metrics(task.id)
    assert metrics is not None
    assert metrics.lost_calls == 1


def test_a_retried_call_is_recorded_once_with_its_attempts(
    openai_tl: Taskline, server: ProviderServer
) -> None:
    tl = openai_tl
    server.enqueue(
        Reply.error(503, "busy"), tool("call_s", "submit_work", summary="Done after a retry.")
    )
    task = tl.create_task("Flaky provider")
    tl.assign(task.id, "coder")

    done = tl.run_task(task.id)

    assert done.status is Status.COMPLETED
    assert len(server.requests) == 2
    assert [(r.turn, r.attempts, r.cost_usd) for r in tl.cost_records(task.id)] == [
        (1, 2, CALL_COST)
    ]
    [record] = tl.cost_records(task.id)
    assert len(record.attempt_errors) == 1
    assert record.attempt_errors[0].startswith("HTTP 503")
    assert metrics_of(tl, task.id) == (1, 1100, 1000, 100, CALL_COST, 0, 1, 1)


def test_metrics_count_the_retries(openai_tl: Taskline, server: ProviderServer) -> None:
    tl = openai_tl
    server.enqueue(
        Reply.error(503, "busy"), tool("call_s", "submit_work", summary="Done after a retry.")
    )
    task = tl.create_task("Flaky provider")
    tl.assign(task.id, "coder")

    tl.run_task(task.id)

    assert getattr(tl.metrics(task.id), "retries", None) == 1


def raw_call(call_id: str, name: str, raw_arguments: str) -> Reply:
    """An answer whose one tool call carries `raw_arguments` exactly as written."""
    call = {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": raw_arguments},
    }
    return Reply.raw(
        {
            "choices": [
                {"index": 0, "finish_reason": "tool_calls", "message": {"tool_calls": [call]}}
            ],
            "usage": {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100},
        }
    )


def test_malformed_calls_go_back_to_the_model_and_the_run_goes_on(
    openai_tl: Taskline, server: ProviderServer
) -> None:
    tl = openai_tl
    huge = '{"path": "a.txt", "content": "' + "x" * 3_000_000  # cut off: not JSON
    server.enqueue(
        raw_call("c1", "write_file", huge),
        tool("c2", "no_such_tool"),
        tool("c3", "list_dir", path="."),  # a good turn between: the count starts again
        tool("c4", "write_file", path=7),
        tool("c5", "submit_work", summary="Fixed my calls."),
    )
    task = tl.create_task("Write a file")
    tl.assign(task.id, "coder")

    done = tl.run_task(task.id)

    assert (done.status, done.summary) == (Status.COMPLETED, "Fixed my calls.")
    [run] = tl.runs(task.id)
    results = [(c.turn, c.name, c.is_error, c.output) for c in tl.store.tool_calls(run.id)]
    del results[2]
    assert results[:3] == [
        (
            1, "write_file", True,
            "the arguments of write_file could not be read: not JSON (Unterminated string"
            " starting at: line 1 column 30 (char 29)); send them again as one JSON object",
        ),
        (
            2, "no_such_tool", True,
            "unknown tool 'no_such_tool'; available: edit_file, list_dir, read_file,"
            " run_command, submit_work, write_file",
        ),
        (
            4, "write_file", True,
            "invalid arguments for write_file: path: Input should be a valid string;"
            " content: Field required",
        ),
    ]  # fmt: skip
    # every turn was billed, the malformed ones too
    assert [r.cost_usd for r in tl.cost_records(task.id) if r.purpose == "agent"] == [CALL_COST] * 5
    # the model read each error as the result of its call
    sent = server.requests[1].body["messages"]
    assert sent[-1]["content"].startswith("ERROR: the arguments of write_file could not be read")
    assert sent[-2]["tool_calls"][0]["function"]["arguments"] == huge


def test_malformed_turns_in_a_row_end_the_run(openai_tl: Taskline, server: ProviderServer) -> None:
    tl = openai_tl
    server.enqueue(
        tool("c1", "list_dir", path="."),
        raw_call("c2", "write_file", "{'path': 'a'}"),
        tool("c3", "nope"),
        raw_call("c4", "write_file", "[" * 5000),
    )
    task = tl.create_task("Write a file")
    tl.assign(task.id, "coder")

    done = tl.run_task(task.id)

    message = (
        "3 turns in a row with only malformed tool calls; the last error: the arguments of"
        " write_file could not be read: not JSON (nested too deeply); send them again as one JSON object"
    )
    assert (done.status, done.failure_category, done.failure_message) == (
        Status.FAILED, "malformed_output", message,
    )  # fmt: skip
    assert runs_of(tl, task.id) == [(1, "first", "failed", None, "malformed_output", message)]
    records = tl.cost_records(task.id)
    assert len(records) == 4
    assert records[1].raw_usage == {
        "prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100,
    }  # fmt: skip


def test_a_huge_provider_error_is_a_short_failure_message(
    openai_tl: Taskline, server: ProviderServer
) -> None:
    tl = openai_tl
    server.enqueue(Reply.error(400, "x" * 1_000_000))
    task = tl.create_task("Refused")
    tl.assign(task.id, "coder")

    done = tl.run_task(task.id)

    # The error keeps 260 characters of the detail and counts the rest; the run's
    # failure message, made from it, is cut to 300 characters again.
    detail = "HTTP 400: " + "x" * 250 + "… [999760 more characters]"
    error = f"openai:gpt-4o-mini failed after 1 attempt: {detail}"
    message = error[:260] + f"… [{len(error) - 260} more characters]"
    assert len(message) <= 300
    assert (done.failure_category, done.failure_message) == ("provider_error", message)
    assert runs_of(tl, task.id) == [(1, "first", "failed", None, "provider_error", message)]
