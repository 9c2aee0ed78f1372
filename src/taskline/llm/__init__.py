"""Language models behind one protocol (`taskline.protocols.Model`), and what calls cost.

    types          messages, tool calls and definitions, usage, responses
    registry       `resolve_model("openai:gpt-4o-mini", endpoints)` and `EndpointConfig`
    openai_compat  any OpenAI-compatible endpoint, through the `openai` SDK
    anthropic      Anthropic's Messages API, through the `anthropic` SDK
    local          SmolLM2-135M-Instruct in-process, with grammar-constrained tool calls
    scripted       responses played back, for tests and replays
    retry          our retry loop: backoff, jitter, Retry-After
    pricing        provider-reported cost, else genai-prices, else configured prices

The adapters are not imported here: each pulls in its SDK, which takes a while.
"""

from taskline.llm.pricing import Price, PriceBook, TokenPrices
from taskline.llm.registry import EndpointConfig, resolve_model
from taskline.llm.retry import RetryPolicy
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
    "EndpointConfig",
    "FinishReason",
    "Message",
    "ModelResponse",
    "Price",
    "PriceBook",
    "PriceSource",
    "RetryPolicy",
    "SystemMessage",
    "TokenPrices",
    "ToolCall",
    "ToolDefinition",
    "ToolResultMessage",
    "Usage",
    "UserMessage",
    "resolve_model",
]
