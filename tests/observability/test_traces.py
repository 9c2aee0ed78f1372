"""Traces of runs, sent by OpenTelemetry's real OTLP/HTTP exporter to a receiver on loopback.

In-process runs use the real `openai` SDK against real providers' recorded answers; the
CLI runs (durable and inline, SQLite and PostgreSQL, killed and resumed) are the real
`taskline` script configured only by the standard OTEL_* variables.
"""

from __future__ import annotations

import json
import logging
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from taskline import Status, Taskline
from taskline.llm.openai_compat import OpenAICompatModel
from taskline.llm.pricing import PriceBook
from taskline.llm.types import ToolCall, Usage
from taskline.observability import EXPORTER_LOGGER, Observers, from_environment
from taskline.observability.metrics import Metrics, process_metrics
from taskline.observability.tracing import Tracing
from taskline.protocols import Model
from taskline.testing.otlp import OtlpReceiver, ReceivedSpan, outline, tree
from taskline.testing.provider_server import ProviderServer, Reply
from tests.conftest import BACKENDS, new_database_url
from tests.engine.scripting import call, scripted, submit
from tests.engine.test_openai_e2e import FAST_RETRY
from tests.engine.test_review import CRITERION, verdict
from tests.test_durable import TURNS, Deployment, ledger_lines, wait_until_billed

RECORDED = Path(__file__).parent.parent / "llm" / "recorded"
SPAN_KIND_CLIENT = 3
STATUS_ERROR = 2


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver().serving() as receiving:
        yield receiving


def recorded(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((RECORDED / name).read_text())
    return body


def by_name(spans: list[ReceivedSpan], name: str) -> list[ReceivedSpan]:
    return sorted((s for s in spans if s.name == name), key=lambda s: s.start_time_unix_nano)


def only(spans: list[ReceivedSpan], name: str) -> ReceivedSpan:
    [span] = by_name(spans, name)
    return span


# -- in process: the real adapter, recorded answers --------------------------------------


@pytest.fixture
def traced(tl: Taskline, receiver: OtlpReceiver, tmp_path: Path) -> Iterator[TracerProvider]:
    provider = TracerProvider(resource=Resource.create({"service.name": "taskline-test"}))
    exporter = OTLPSpanExporter(endpoint=f"{receiver.endpoint}/v1/traces")
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tl.home = tmp_path / "home"
    yield provider
    provider.shutdown()


def deepseek_run(tl: Taskline, server: ProviderServer) -> str:
    """A task whose agent gets DeepSeek's recorded tool call (to a tool it does not have),
    then OpenAI's recorded text answer with a cache write, then submits."""

    def factory(_ref: str) -> Model:
        return OpenAICompatModel(
            "deepseek-v4-flash",
            base_url=server.openai_base_url,
            api_key="test-key",
            retry=FAST_RETRY,
            genai_provider_id="deepseek",
            price_book=PriceBook(),
        )

    tl.model_factory = factory
    server.enqueue(
        Reply.raw(recorded("deepseek_cache_reasoning_tool_call.json")),
        Reply.raw(recorded("openai_cache_write.json")),
        Reply.tool_calls(
            ToolCall(id="call_s", name="submit_work", arguments={"summary": "done"}),
            usage=Usage(input_tokens=700, output_tokens=9),
        ),
    )
    task = tl.create_task("Roll the dice")
    tl.assign(task.id, "coder")
    assert tl.run_task(task.id).status is Status.COMPLETED
    return task.id


@pytest.mark.parametrize("names", ["v1.41", "latest"])
def test_a_call_span_carries_the_conventions_attributes_and_the_cost(
    tl: Taskline, traced: TracerProvider, receiver: OtlpReceiver, names: str
) -> None:
    tl.observer = Tracing(traced, latest=names == "latest")
    with ProviderServer() as server:
        task_id = deepseek_run(tl, server)
    tl.close()

    spans = receiver.wait_for(lambda s: any(x.name == "taskline.task" for x in s))
    [root] = tree(spans)
    assert outline(root) == [
        "taskline.task",
        "  invoke_agent coder",
        "    chat deepseek-v4-flash",
        "    execute_tool load_capability",
        "    chat deepseek-v4-flash",
        "    chat deepseek-v4-flash",
        "    execute_tool submit_work",
    ]
    records = tl.cost_records(task_id)
    first, second, third = by_name(spans, "chat deepseek-v4-flash")
    assert first.kind == SPAN_KIND_CLIENT
    assert first.attributes == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "deepseek-v4-flash",
        "gen_ai.agent.name": "coder",
        "taskline.call.purpose": "agent",
        "taskline.turn": 1,
        "gen_ai.response.id": "0841b0a3-0321-47fa-a8a5-f08e5a4b3cb3",
        "gen_ai.response.model": "deepseek-v4-flash",
        "gen_ai.response.finish_reasons": ["tool_calls"],
        "gen_ai.usage.input_tokens": 563,
        "gen_ai.usage.output_tokens": 116,
        "gen_ai.usage.cache_read.input_tokens": 512,
        ("gen_ai.usage.cache_write.input_tokens" if names == "latest" else
         "gen_ai.usage.cache_creation.input_tokens"): 0,
        "gen_ai.usage.reasoning.output_tokens": 60,
        "taskline.cost_usd": float(records[0].cost_usd or -1),
        "taskline.price_source": "genai-prices",
        "taskline.attempts": 1,
    }  # fmt: skip
    assert second.attributes["gen_ai.response.id"] == "chatcmpl-E1mBLGr3Ql1FsH8cdc76XdGw3PleH"
    assert {k: v for k, v in second.attributes.items() if "cache" in k} == {
        "gen_ai.usage.cache_read.input_tokens": 0,
        CACHE_WRITE[names]: 4012,
    }
    assert third.attributes["gen_ai.response.id"] == "chatcmpl-scripted"  # the server's own
    tool = only(spans, "execute_tool load_capability")
    assert tool.attributes == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "load_capability",
        "gen_ai.tool.call.id": "call_00_sXqYgMESDht75NCLLZtt9804",
        "error.type": "malformed_call",
    }
    assert tool.status_code == STATUS_ERROR
    run = only(spans, "invoke_agent coder")
    total = sum(r.cost_usd or 0 for r in records)
    assert run.attributes == {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "coder",
        "gen_ai.request.model": "scripted:none",
        "taskline.run.id": tl.runs(task_id)[0].id,
        "taskline.run.number": 1,
        "taskline.run.trigger": "first",
        "taskline.run.status": "submitted",
        "taskline.model_calls": 3,
        "taskline.usage.input_tokens": 563 + 4020 + 700,
        "taskline.usage.output_tokens": 116 + 4 + 9,
        "taskline.cost_usd": pytest.approx(float(total)),
    }
    assert root.service_name == "taskline-test"


CACHE_WRITE = {
    "v1.41": "gen_ai.usage.cache_creation.input_tokens",
    "latest": "gen_ai.usage.cache_write.input_tokens",
}


def test_content_is_sent_only_when_asked_for(
    tl: Taskline, traced: TracerProvider, receiver: OtlpReceiver
) -> None:
    tl.observer = Tracing.from_environment(
        traced, {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true"}
    )
    with ProviderServer() as server:
        task_id = deepseek_run(tl, server)
    tl.observer.flush()

    spans = receiver.wait_for(lambda s: any(x.name == "taskline.task" for x in s))
    first, _second, third = by_name(spans, "chat deepseek-v4-flash")
    [system] = json.loads(first.attributes["gen_ai.system_instructions"])
    assert system["type"] == "text"
    assert system["content"].startswith("You are coder")
    assert [m["role"] for m in json.loads(first.attributes["gen_ai.input.messages"])] == ["user"]
    assert [m["role"] for m in json.loads(third.attributes["gen_ai.input.messages"])] == [
        "user", "assistant", "tool", "assistant", "user",
    ]  # fmt: skip
    assert json.loads(first.attributes["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "parts": [
                {"type": "text", "content": "Let me load the dice rolling capability!"},
                {
                    "type": "tool_call",
                    "id": "call_00_sXqYgMESDht75NCLLZtt9804",
                    "name": "load_capability",
                    "arguments": {"id": "DICE_ROLL"},
                },
            ],
            "finish_reason": "tool_calls",
        }
    ]
    tool = only(spans, "execute_tool load_capability")
    [row] = [c for c in tl.tool_calls(tl.runs(task_id)[0].id) if c.turn == 1]
    assert (tool.attributes["gen_ai.tool.call.arguments"], tool.attributes["gen_ai.tool.call.result"]) == (
        '{"id": "DICE_ROLL"}', row.output,
    )  # fmt: skip


def test_no_content_by_default(
    tl: Taskline, traced: TracerProvider, receiver: OtlpReceiver
) -> None:
    tl.observer = Tracing.from_environment(traced, {})
    with ProviderServer() as server:
        deepseek_run(tl, server)
    tl.observer.flush()

    spans = receiver.wait_for(lambda s: any(x.name == "taskline.task" for x in s))
    keys = {key for span in spans for key in span.attributes}
    assert sorted(k for k in keys if "messages" in k or "instructions" in k or ".call.a" in k) == []
    assert "gen_ai.tool.call.result" not in keys


def test_without_otlp_variables_nothing_is_traced_and_the_counts_are_kept() -> None:
    counts = process_metrics()
    assert from_environment({}) is counts
    assert from_environment({"OTEL_SERVICE_NAME": "x"}) is counts
    traced = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}
    both = from_environment(traced)
    assert isinstance(both, Observers)
    assert [type(observer) for observer in both.observers] == [Tracing, Metrics]
    assert both.observers[1] is counts
    assert from_environment({**traced, "OTEL_SDK_DISABLED": "true"}) is counts
    assert from_environment({**traced, "OTEL_TRACES_EXPORTER": "none"}) is counts


# -- the CLI, configured by the environment only ------------------------------------------


@pytest.fixture(params=BACKENDS)
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Deployment:
    return Deployment(
        tmp_path / "home", new_database_url(request.param, tmp_path, request), tmp_path
    )


def traced_deployment(deployment: Deployment, receiver: OtlpReceiver, *, durable: bool) -> None:
    deployment.env["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.endpoint
    deployment.env["TASKLINE_DURABLE"] = "1" if durable else "0"


def transitions_after_assignment(deployment: Deployment, task_id: str) -> list[dict[str, Any]]:
    with deployment.library() as tl:
        return [
            {
                "taskline.transition.from": t.from_status.value if t.from_status else "",
                "taskline.transition.to": t.to_status.value,
                "taskline.transition.actor": t.actor,
                "taskline.transition.reason": t.reason,
            }
            for t in tl.transitions(task_id)[2:]
        ]


@pytest.mark.parametrize("mode", ["durable", "inline"])
def test_a_run_arrives_as_one_trace(
    deployment: Deployment, receiver: OtlpReceiver, mode: str
) -> None:
    traced_deployment(deployment, receiver, durable=mode == "durable")
    task_id, _ledger = deployment.new_task("tracer", delay_seconds=0, checks=["test -e f0.txt"])

    deployment.cli("task", "run", task_id)

    spans = receiver.wait_for(lambda s: any(x.name == "taskline.task" for x in s))
    [root] = tree(spans)
    calls = [f"    chat {deployment.tmp_path / 'tracer.json'}", "    execute_tool write_file"]
    assert outline(root) == [
        "taskline.task",
        "  invoke_agent tracer",
        *calls * TURNS,
        calls[0],
        "    execute_tool submit_work",
        "  taskline.checks",
    ]
    with deployment.library() as tl:
        [run] = tl.runs(task_id)
        call_ids = [c.call_id for c in tl.tool_calls(run.id)]
    assert {s.trace_id for s in spans} == {run.trace_id}
    assert (root.span_id, root.parent_span_id, root.service_name) == (
        run.trace_span_id, "", "taskline",
    )  # fmt: skip
    assert root.attributes == {
        "taskline.task.id": task_id,
        "taskline.task.title": "tracer",
        "taskline.task.status": "COMPLETED",
        "taskline.model_calls": TURNS + 1,
        "taskline.usage.input_tokens": 100 * (TURNS + 1),
        "taskline.usage.output_tokens": 10 * (TURNS + 1),
        "taskline.cost_usd": pytest.approx(0.001 * (TURNS + 1)),
    }
    assert [e.name for e in root.events] == ["taskline.transition"] * 3
    assert [e.attributes for e in root.events] == transitions_after_assignment(deployment, task_id)
    assert [s.attributes["gen_ai.tool.call.id"] for s in spans if s.name.startswith("execute")] == (
        call_ids
    )
    assert only(spans, "taskline.checks").attributes == {
        "taskline.review.kind": "checks",
        "taskline.review.approved": True,
    }


def test_a_run_killed_and_resumed_stays_in_its_trace(
    deployment: Deployment, receiver: OtlpReceiver
) -> None:
    traced_deployment(deployment, receiver, durable=True)
    task_id, ledger = deployment.new_task("phoenix", delay_seconds=0.05)
    # The first process keeps its spans (to be sent in ten minutes) and is killed: a crash
    # loses what it had not sent, and the resumed run must not send its replay instead.
    deployment.env["OTEL_BSP_SCHEDULE_DELAY"] = "600000"
    process = deployment.start("task", "run", task_id)
    wait_until_billed(ledger, 3, process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    billed_before = ledger_lines(ledger)
    del deployment.env["OTEL_BSP_SCHEDULE_DELAY"]

    deployment.cli("task", "run", task_id)

    spans = receiver.wait_for(lambda s: any(x.name == "taskline.task" for x in s))
    with deployment.library() as tl:
        [run] = tl.runs(task_id)
        assert tl.get_task(task_id).status is Status.COMPLETED
    [root] = tree(spans)
    assert {s.trace_id for s in spans} == {run.trace_id}
    # the span the crash cut short never arrived; the resumed one hangs on it
    assert (root.name, root.parent_span_id, root.attributes["taskline.resumed"]) == (
        "taskline.task", run.trace_span_id, True,
    )  # fmt: skip
    made_now = ledger_lines(ledger) - billed_before
    chats = [s for s in spans if s.name.startswith("chat ")]
    # only the calls this process sent: those the first one had answered are replayed
    assert [c.attributes["taskline.turn"] for c in chats] == list(
        range(TURNS + 2 - made_now, TURNS + 2)
    )
    assert root.attributes["taskline.model_calls"] == made_now


def test_reviews_and_rework_hang_on_the_task_and_a_verdict_is_a_trace_of_its_own(
    tl: Taskline, traced: TracerProvider, receiver: OtlpReceiver
) -> None:
    tl.observer = Tracing(traced)
    factory, _models = scripted(
        [call("write_file", path="hello.txt", content="hi\n"), submit("Wrote hi.")],
        [verdict(met=False, reason="it says hi", feedback="Write hello, not hi.")],
        [call("write_file", path="hello.txt", content="hello\n"), submit("Now it says hello.")],
        [verdict(met=True, reason="it does", feedback="Good.")],
        [submit("Said it louder.")],
        [verdict(met=True, reason="it does", feedback="Loud enough.")],
    )
    tl.model_factory = factory
    task = tl.create_task("Greet", criteria=[CRITERION], reviewers=["reviewer"], human_review=True)
    tl.assign(task.id, "coder")
    assert tl.run_task(task.id).status is Status.IN_REVIEW
    assert tl.review(task.id, approve=False, feedback="Louder.").status is Status.IN_REVIEW
    tl.observer.flush()

    spans = receiver.wait_for(lambda s: len(by_name(s, "taskline.task")) == 2)
    run_trace, verdict_trace = sorted(tree(spans), key=lambda s: s.start_time_unix_nano)
    agent_turn = ["    chat script", "    execute_tool write_file"]
    submitted = ["    chat script", "    execute_tool submit_work"]
    assert outline(run_trace) == [
        "taskline.task",
        "  invoke_agent coder", *agent_turn, *submitted,
        "  invoke_agent reviewer", "    chat script",
        "  invoke_agent coder", *agent_turn, *submitted,
        "  invoke_agent reviewer", "    chat script",
    ]  # fmt: skip
    assert outline(verdict_trace) == [
        "taskline.task",
        "  invoke_agent coder", *submitted,
        "  invoke_agent reviewer", "    chat script",
    ]  # fmt: skip
    reviews = [s for s in spans if s.attributes.get("taskline.review.kind") == "agent"]
    assert [r.attributes["taskline.review.approved"] for r in reviews] == [False, True, True]
    runs = tl.runs(task.id)
    # the rework the person asked for is in the verdict's trace, the others in the run's
    assert [(r.trace_id, r.trace_span_id) for r in runs] == [
        (run_trace.trace_id, run_trace.span_id),
        (run_trace.trace_id, run_trace.span_id),
        (verdict_trace.trace_id, verdict_trace.span_id),
    ]
    assert [e.attributes["taskline.transition.to"] for e in verdict_trace.events] == [
        "IN_PROGRESS", "IN_REVIEW",
    ]  # fmt: skip


def test_a_failed_call_is_an_error_on_its_span_and_its_task(
    tl: Taskline, traced: TracerProvider, receiver: OtlpReceiver
) -> None:
    tl.observer = Tracing(traced)
    with ProviderServer() as server:
        server.enqueue(*[Reply.error(500, "upstream down")] * FAST_RETRY.max_attempts)
        tl.model_factory = lambda _ref: OpenAICompatModel(
            "gpt-4o-mini", base_url=server.openai_base_url, api_key="k", retry=FAST_RETRY
        )
        task = tl.create_task("Fail")
        tl.assign(task.id, "coder")
        assert tl.run_task(task.id).failure_category == "provider_error"
    tl.observer.flush()

    spans = receiver.wait_for(lambda s: any(x.name == "taskline.task" for x in s))
    chat, run, root = (
        only(spans, n) for n in ("chat gpt-4o-mini", "invoke_agent coder", "taskline.task")
    )
    assert (chat.attributes["error.type"], chat.status_code) == ("ProviderError", STATUS_ERROR)
    assert "gen_ai.usage.input_tokens" not in chat.attributes
    assert (run.attributes["error.type"], run.attributes["taskline.run.status"]) == (
        "provider_error", "failed",
    )  # fmt: skip
    assert (root.attributes["error.type"], root.attributes["taskline.task.status"]) == (
        "provider_error", "FAILED",
    )  # fmt: skip
    assert root.attributes["taskline.model_calls"] == 0


def test_a_collector_that_is_down_costs_one_line(tmp_path: Path) -> None:
    deployment = Deployment(tmp_path / "home", f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    deployment.env.update(
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{port}",
        OTEL_EXPORTER_OTLP_TIMEOUT="3",
        TASKLINE_DURABLE="0",
    )
    task_id, _ledger = deployment.new_task("unheard", delay_seconds=0)

    done = deployment.cli("task", "run", task_id)

    notes = [line for line in done.stderr.splitlines() if line.startswith("note:")]
    assert notes == [
        "note: traces were not sent: Failed to export spans batch due to timeout, max retries"
        " or shutdown."
    ]
    assert "Traceback" not in done.stderr


def test_the_library_sends_where_its_env_says_through_one_provider(
    tmp_path: Path, receiver: OtlpReceiver
) -> None:
    deployment = Deployment(tmp_path / "home", f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path)
    # Only the environment given to `Taskline.open` names the collector, not the process's.
    deployment.env.update(OTEL_EXPORTER_OTLP_ENDPOINT=f"{receiver.endpoint}/", TASKLINE_DURABLE="0")
    task_id, _ledger = deployment.new_task("library", delay_seconds=0)
    with Taskline.open(env=deployment.env) as first, Taskline.open(env=deployment.env) as second:
        assert isinstance(first.observer, Observers)
        assert isinstance(second.observer, Observers)
        [tracing, _] = first.observer.observers
        [again, _] = second.observer.observers
        assert isinstance(tracing, Tracing)
        assert isinstance(again, Tracing)
        assert tracing._provider is again._provider
        assert first.run_task(task_id).status is Status.COMPLETED

    spans = receiver.wait_for(lambda s: any(x.name == "taskline.task" for x in s))
    assert receiver.paths == ["/v1/traces"] * receiver.requests
    assert only(spans, "taskline.task").attributes["taskline.task.id"] == task_id


def test_an_export_left_no_time_says_it_ran_out_of_time(caplog: pytest.LogCaptureFixture) -> None:
    """Woken late for a retry, the exporter tries with no time left and reports the
    transport's refusal of a zero timeout; a budget of 0 makes that happen every time."""
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{probe.getsockname()[1]}/v1/traces"
    from_environment({"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint.removesuffix("/v1/traces")})
    provider = TracerProvider()
    exporter = OTLPSpanExporter(endpoint=endpoint, timeout=0)
    provider.add_span_processor(BatchSpanProcessor(exporter))

    with caplog.at_level(logging.ERROR, EXPORTER_LOGGER):
        provider.get_tracer("t").start_span("s").end()
        provider.shutdown()

    assert [record.getMessage() for record in caplog.records] == [
        "traces were not sent: Failed to export spans batch due to timeout, max retries"
        " or shutdown."
    ]
