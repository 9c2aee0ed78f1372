"""Language models behind one protocol (`taskline.protocols.Model`), and what calls cost.

    types          messages, tool calls and definitions, usage, responses
    registry       `resolve_model("openai:gpt-4o-mini", endpoints)` and `EndpointConfig`
    openai_compat  any OpenAI-compatible endpoint, through the `openai` SDK
    anthropic      Anthropic's Messages API, through the `anthropic` SDK
    local          SmolLM2-135M-Instruct in-process, with grammar-constrained tool calls
    scripted       responses played back, for tests and replays
    retry          our retry loop: backoff, jitter, Retry-After
    pricing        provider-reported cost, else genai-prices, else configured prices

The package itself exports only the value types of `types`, which every layer may
name (`taskline.protocols`, and `taskline.errors`, whose `ResponseParseError`
carries a `Usage`). Everything else is imported from its module: the registry names
`taskline.protocols.Model`, which names these types, so exporting it here would be
an import cycle; and the adapters each pull in an SDK, which takes a while.
"""

from taskline.llm.types import (
    AssistantMessage,
    FinishReason,
    Message,
    ModelResponse,
    PriceSource,
    SystemMessage,
    ToolCall,
    ToolDefinition,
    ToolResultMessage,
    Usage,
    UserMessage,
)

__all__ = [
    "AssistantMessage",
    "FinishReason",
    "Message",
    "ModelResponse",
    "PriceSource",
    "SystemMessage",
    "ToolCall",
    "ToolDefinition",
    "ToolResultMessage",
    "Usage",
    "UserMessage",
]
