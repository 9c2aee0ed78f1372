"""The scripted model plays its responses back in order and records what it was sent."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from taskline.errors import ModelReferenceError, ProviderError
from taskline.llm import ToolCall, ToolDefinition, Usage, UserMessage
from taskline.llm.scripted import ScriptedModel, ScriptedResponse, ScriptedToolCall

pytestmark = pytest.mark.anyio

SUBMIT = ToolDefinition(name="submit_work", description="Finish the task.")


async def test_plays_back_in_order_and_records_calls() -> None:
    model = ScriptedModel(
        [
            ScriptedResponse(
                tool_calls=(ScriptedToolCall(name="submit_work", arguments={"summary": "done"}),),
                usage=Usage(input_tokens=120, output_tokens=12),
                cost_usd=Decimal("0.0004"),
            ),
            ScriptedResponse(text="bye"),
        ]
    )

    first = await model.complete([UserMessage(content="go")], [SUBMIT])
    second = await model.complete([UserMessage(content="again")])

    assert first.tool_calls == (
        ToolCall(id="call_0_0", name="submit_work", arguments={"summary": "done"}),
    )
    assert (first.finish_reason, first.cost_usd, first.price_source) == (
        "tool_calls",
        Decimal("0.0004"),
        "provider",
    )
    assert first.usage == Usage(input_tokens=120, output_tokens=12)
    assert (second.text, second.finish_reason, second.cost_usd, second.price_source) == (
        "bye",
        "stop",
        None,
        "unknown",
    )
    assert [call.messages for call in model.calls] == [
        (UserMessage(content="go"),),
        (UserMessage(content="again"),),
    ]
    assert [call.tools for call in model.calls] == [(SUBMIT,), ()]
    assert model.remaining == 0


async def test_running_out_is_a_provider_error() -> None:
    model = ScriptedModel([ScriptedResponse(text="only")], model="short")
    await model.complete([UserMessage(content="1")])

    with pytest.raises(ProviderError) as caught:
        await model.complete([UserMessage(content="2")])

    assert str(caught.value) == (
        "scripted:short failed after 1 attempt: the script has no response left: all 1 were played"
    )
    assert len(model.calls) == 2


async def test_scripted_errors() -> None:
    model = ScriptedModel([ScriptedResponse(error="HTTP 500: boom", status_code=500)])

    with pytest.raises(ProviderError) as caught:
        await model.complete([UserMessage(content="1")])

    assert str(caught.value) == "scripted:script failed after 1 attempt: HTTP 500: boom"
    assert caught.value.status_code == 500


async def test_reads_a_json_file(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text(
        json.dumps(
            {
                "responses": [
                    {
                        "tool_calls": [
                            {"id": "c1", "name": "read_file", "arguments": {"path": "a"}}
                        ],
                        "usage": {"input_tokens": 5, "output_tokens": 2},
                        "cost_usd": "0.25",
                        "price_source": "config",
                    }
                ]
            }
        )
    )

    model = ScriptedModel.from_file(path)
    response = await model.complete([UserMessage(content="x")])

    assert model.model == str(path)
    assert response.tool_calls == (ToolCall(id="c1", name="read_file", arguments={"path": "a"}),)
    assert (response.cost_usd, response.price_source) == (Decimal("0.25"), "config")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (
            "[{",
            "the script is not JSON: Expecting property name enclosed in double quotes: line 1 column 3 (char 2)",
        ),
        ('[{"txt": "typo"}]', "invalid script: txt: Extra inputs are not permitted"),
        ('{"responses": 3}', "invalid script: Input should be a valid list"),
    ],
)
def test_bad_script_files(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)

    with pytest.raises(ModelReferenceError) as caught:
        ScriptedModel.from_file(path)

    assert str(caught.value) == f"model 'scripted:{path}': {reason}"
