"""The records taskline stores: agents, tasks and the audit trail of their moves.

Records are frozen pydantic models; changing one means storing a new version
through the store, never mutating it in place. Validation messages are written
for the person who typed the value.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    field_validator,
    model_validator,
)

from taskline.errors import InvalidValueError
from taskline.ids import new_id
from taskline.lifecycle import Status

# A check runs a test suite, not a service: an hour is past any suite worth waiting for.
MAX_CHECK_TIMEOUT_SECONDS = 3600.0
DEFAULT_CHECK_TIMEOUT_SECONDS = 300.0

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# An MCP server's name starts the names its tools have for the model (`{server}__{tool}`),
# which providers allow only letters, digits, '_' and '-' in; '__' separates the two.
MCP_SERVER_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
MCP_SEPARATOR = "__"
ENV_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

Priority = Literal["low", "normal", "high", "urgent"]
PRIORITIES: tuple[Priority, ...] = get_args(Priority)


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must include a timezone, e.g. 2026-12-01T17:00:00+00:00")
    try:
        return value.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-05:00 is past the last UTC datetime
        raise ValueError("is out of range") from None


def _not_blank(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    return value


def _positive_usd(value: Decimal) -> Decimal:
    if value <= 0:
        raise ValueError("must be greater than 0")
    return value


def _name(value: str) -> str:
    if not NAME_PATTERN.match(value):
        raise ValueError(
            "must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit"
        )
    return value


def _mcp_server_name(value: str) -> str:
    if not MCP_SERVER_NAME_PATTERN.match(value) or MCP_SEPARATOR in value:
        raise ValueError(
            f"{value!r} is not an MCP server name: use 1-32 letters, digits, '_' or '-',"
            " starting with a letter or digit, without '__'"
        )
    return value


def _env_name(value: str) -> str:
    if not ENV_NAME_PATTERN.match(value):
        raise ValueError(f"{value!r} is not a variable name")
    return value


# JSON shows money as a number, so `jq '.budget_usd > 1'` works; Python keeps Decimal.
UsdAmount = Annotated[
    Decimal,
    AfterValidator(_positive_usd),
    PlainSerializer(float, return_type=float, when_used="json"),
]
UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]
NonBlank = Annotated[str, AfterValidator(_not_blank)]
Name = Annotated[str, AfterValidator(_name)]
McpServerName = Annotated[str, AfterValidator(_mcp_server_name)]
EnvName = Annotated[str, AfterValidator(_env_name)]


# What a person or a program hands in is first kept to what a database can store: no NUL
# character, no unpaired surrogate, no number past a column's range, no infinity. The API
# checks its bodies against these (a 422, never a 500); the records then check the rest.

INT32_MAX = 2**31 - 1
"""The largest count an INTEGER column holds on PostgreSQL."""
MAX_USD = Decimal(10**9)
"""Money columns keep 12 digits before the point; no budget comes near this."""


def storable(text: str) -> bool:
    """Whether a database can store `text`: no NUL character, valid UTF-8."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # an unpaired surrogate, e.g. from "\ud800" in JSON
        return False
    return True


def _storable_text(value: str) -> str:
    if not storable(value):
        raise ValueError("must not contain NUL characters or unpaired surrogates")
    return value


def _in_range(value: datetime) -> datetime:
    if value.tzinfo is not None:
        try:
            value.astimezone(UTC)
        except OverflowError:
            raise ValueError("is out of range once converted to UTC") from None
    return value


StorableText = Annotated[str, AfterValidator(_storable_text)]
StorableUsd = Annotated[Decimal, Field(gt=0, le=MAX_USD, allow_inf_nan=False)]
# Strict: JSON `true` is not a number of seconds or turns.
Seconds = Annotated[float, Field(gt=0, allow_inf_nan=False, strict=True)]
Count = Annotated[int, Field(ge=1, le=INT32_MAX, strict=True)]
StorableDatetime = Annotated[datetime, AfterValidator(_in_range)]


class Record(BaseModel):
    """Base of every stored record: frozen, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class McpGrant(Record):
    """An MCP server an agent may use, and which of its tools.

    Written `git` (every tool of server `git`) or `git:git_status,git_diff` (only
    those) on the command line and in taskline.toml.
    """

    server: McpServerName
    """Name of the server, a `[mcp.NAME]` table of taskline.toml."""
    tools: tuple[NonBlank, ...] | None = None
    """The server's own names of the tools the agent may call; None means all of them."""

    @classmethod
    def parse(cls, text: str) -> McpGrant:
        """`SERVER` or `SERVER:TOOL,TOOL` as a grant; `ValueError` saying what is wrong."""
        server, colon, listed = text.partition(":")
        if not colon:
            return cls(server=server.strip())
        tools = tuple(name.strip() for name in listed.split(",") if name.strip())
        if not tools:
            raise ValueError(f"{text!r} names no tool after ':'; leave out ':' for every tool")
        return cls(server=server.strip(), tools=tools)


def _grants(value: Any) -> Any:
    """Grants may be given as `SERVER[:TOOL,...]` strings, as on the command line."""
    if isinstance(value, str):
        value = (value,)
    if isinstance(value, (list, tuple)):
        return tuple(McpGrant.parse(item) if isinstance(item, str) else item for item in value)
    return value


def _one_grant_per_server(grants: tuple[McpGrant, ...]) -> tuple[McpGrant, ...]:
    servers = [grant.server for grant in grants]
    for server in servers:
        if servers.count(server) > 1:
            raise ValueError(f"names MCP server {server!r} twice; list its tools once")
    return grants


McpGrants = Annotated[
    tuple[McpGrant, ...], BeforeValidator(_grants), AfterValidator(_one_grant_per_server)
]


class Agent(Record):
    """Who executes tasks: an LLM with a role, instructions and tools. Agents are data."""

    name: Name
    """Unique name, used to assign tasks (`taskline task assign TASK NAME`)."""
    model: NonBlank
    """Model reference, e.g. `openai:gpt-4o-mini`, `anthropic:MODEL` or `local:smollm2`."""
    role: str = ""
    """A short description of the agent's job, e.g. `backend engineer`."""
    instructions: str = ""
    """Personality and way of working, put at the top of every prompt."""
    skills: tuple[NonBlank, ...] = ()
    """What the agent is good at, for people choosing an assignee."""
    tools: tuple[Name, ...] | None = None
    """Tools the agent may call; None means every built-in tool."""
    budget_usd: UsdAmount | None = None
    """Default spending limit per task, used when the task sets none."""
    budget_tokens: int | None = Field(default=None, ge=1, le=2_147_483_647)
    """Default token limit per task (input plus output of every call), used when the
    task sets none; works for every model, priced or not."""
    mcp: McpGrants = ()
    """MCP servers whose tools the agent may call (`[mcp.NAME]` in taskline.toml), each
    with an optional allow-list; the model sees each tool as `{server}__{tool}`."""
    created_at: UtcDatetime = Field(default_factory=utcnow)
    """When the agent was first stored."""


class Task(Record):
    """A unit of work with acceptance criteria, executed by one agent."""

    id: str = Field(default_factory=new_id)
    """Time-sortable unique id."""
    title: NonBlank = Field(max_length=200)
    """One line saying what is to be done."""
    description: str = ""
    """The full context an agent needs."""
    type: Name = "general"
    """Kind of work (`feature`, `bugfix`, `docs` …), free-form."""
    priority: Priority = "normal"
    """How urgent the task is relative to others."""
    acceptance_criteria: tuple[NonBlank, ...] = ()
    """What must hold for the work to be accepted, one statement each."""
    checks: tuple[NonBlank, ...] = ()
    """Shell commands run in the workspace at review; each passes on exit code 0."""
    expected_artifacts: tuple[NonBlank, ...] = ()
    """Files or outputs the work is expected to produce."""
    dependencies: tuple[str, ...] = ()
    """Ids of tasks that must be COMPLETED before this one may start."""
    budget_usd: UsdAmount | None = None
    """Spending limit for all LLM calls of the task; None means no limit."""
    budget_tokens: int | None = Field(default=None, ge=1, le=2_147_483_647)
    """Token limit (input plus output) for all LLM calls of the task, review calls
    included; None means no limit. Unlike `budget_usd` it needs no price."""
    max_turns: int | None = Field(default=None, ge=1)
    """Most LLM calls one run may make."""
    timeout_seconds: float | None = Field(default=None, gt=0)
    """Wall-clock limit for one run."""
    check_timeout_seconds: float | None = Field(default=None, gt=0, le=MAX_CHECK_TIMEOUT_SECONDS)
    """Wall-clock limit of each check; None means `DEFAULT_CHECK_TIMEOUT_SECONDS`."""
    ignore: tuple[NonBlank, ...] = ()
    """Paths (gitignore patterns) in the workspace whose changes are not artifacts."""
    deadline: UtcDatetime | None = None
    """When the work is due, shown to the agent and to people."""
    assignee: str | None = None
    """Name of the agent the task is assigned to."""
    reviewers: tuple[Name, ...] = ()
    """Agents that judge the work against the acceptance criteria."""
    human_review: bool = False
    """Whether a person must approve the work before it is COMPLETED."""
    max_rework: int = Field(default=2, ge=0)
    """Rejected reviews allowed before the task FAILED."""
    workspace: str | None = None
    """Directory the agent works in; None means one under `$TASKLINE_HOME/workspaces`."""
    copy_dir: str | None = None
    """Where the agent works when the task runs in a copy of `workspace` (`--copy`): made
    there, under `$TASKLINE_HOME/copies`, when the task first starts, and written back by
    `taskline artifacts ID --apply`. None means the agent works in `workspace` itself."""
    status: Status = Status.CREATED
    """Where the task is in its lifecycle; changed only through the transition table."""
    created_at: UtcDatetime = Field(default_factory=utcnow)
    """When the task was created."""
    updated_at: UtcDatetime = Field(default_factory=utcnow)
    """When the task last changed."""
    summary: str | None = None
    """The completion summary of the latest run that handed in its work."""
    failure_category: str | None = None
    """Why the task FAILED (`timeout`, `max_turns`, `budget_exhausted` …); None otherwise."""
    failure_message: str | None = None
    """The failure in words."""

    @field_validator("dependencies")
    @classmethod
    def _unique_dependencies(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("must not list a task twice")
        return tuple(sorted(value))  # the store keeps a set; one order everywhere

    @model_validator(mode="after")
    def _not_self_dependent(self) -> Task:
        if self.id in self.dependencies:
            raise ValueError(f"task {self.id} cannot depend on itself")
        return self


class NewTask(BaseModel):
    """What a task is created from: the fields a person sets, with their defaults.

    The one list of a task's creatable fields: `Taskline.create_task` takes them (as
    keywords or as a `NewTask`), `taskline task create` and `taskline run` have an
    option for each, the API's `POST /api/tasks` takes this model as its body and the
    dashboard's form is drawn from that body's schema. Limits not given (None) come
    from the config's `[defaults]`. The values are checked as the `Task` they become.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    title: StorableText
    """One line saying what is to be done."""
    description: StorableText = ""
    """The full context an agent needs."""
    type: StorableText = "general"
    """Kind of work (`feature`, `bugfix`, `docs` …)."""
    priority: Priority = "normal"
    """How urgent the task is."""
    criteria: list[StorableText] = []
    """Acceptance criteria, one statement each."""
    checks: list[StorableText] = []
    """Shell commands that must exit 0 in the workspace at review."""
    expected_artifacts: list[StorableText] = []
    """Files or outputs the work is expected to produce."""
    depends_on: list[StorableText] = []
    """Ids of tasks that must be COMPLETED first."""
    budget_usd: StorableUsd | None = None
    """Spending limit in USD."""
    budget_tokens: Count | None = None
    """Token limit (input plus output), for any model, priced or not."""
    max_turns: Count | None = None
    """Most LLM calls per run."""
    timeout_seconds: Seconds | None = None
    """Wall-clock limit per run."""
    check_timeout_seconds: Seconds | None = None
    """Wall-clock limit of each check; absent means the config's default."""
    ignore: list[StorableText] = []
    """Paths or gitignore patterns whose changes are not artifacts."""
    deadline: StorableDatetime | None = None
    """Due date, ISO 8601 with a timezone."""
    reviewers: list[StorableText] = []
    """Reviewer agents."""
    human_review: Annotated[bool, Field(strict=True)] = False
    """Whether a person must approve the work before COMPLETED."""
    max_rework: Annotated[int, Field(ge=0, le=INT32_MAX, strict=True)] = 2
    """Rejected reviews before FAILED."""
    workspace: StorableText | None = None
    """Directory the agent works in; absent means one under `$TASKLINE_HOME/workspaces`."""
    # `copy` in JSON and as a keyword; a field of that name would shadow BaseModel.copy
    copy_: Annotated[bool, Field(alias="copy", strict=True)] = False
    """Whether the agent works in a copy of `workspace` (an existing directory), written
    back by `taskline artifacts ID --apply`."""

    @classmethod
    def unchecked(cls, **fields: Any) -> NewTask:
        """The fields as given (by their JSON names), for `Task` to check as it always has:
        the library's and the CLI's messages name the task's fields (`acceptance_criteria:
        must not be blank`). A name that is no field is a `TypeError`, as for a function."""
        for name in fields:
            if name not in _NEW_TASK_NAMES:
                raise TypeError(f"create_task() got an unexpected keyword argument {name!r}")
        return cls.model_construct(**fields)


class Transition(Record):
    """One status change of a task, appended to its audit trail and never changed."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    task_id: str
    """The task that moved."""
    seq: int
    """Position in the task's trail, from 1 (the creation)."""
    from_status: Status | None = Field(alias="from")
    """Status before the move; None for the creation."""
    to_status: Status = Field(alias="to")
    """Status after the move."""
    at: UtcDatetime
    """When the move was stored."""
    actor: str
    """Who made the move: `user:NAME`, `agent:NAME` or `system`."""
    reason: str = ""
    """Why, in the actor's words."""


class TaskEvent(Record):
    """An audited change to a task that is not a status move, such as a reassignment."""

    task_id: str
    """The task the event is about."""
    kind: str
    """What happened, e.g. `reassigned`."""
    at: UtcDatetime
    """When it was stored."""
    actor: str
    """Who did it."""
    detail: dict[str, Any] = Field(default_factory=dict)
    """Facts of the event, e.g. `{"from": "alice", "to": "bob"}`."""


_NEW_TASK_NAMES = frozenset(field.alias or name for name, field in NewTask.model_fields.items())

M = TypeVar("M", bound=BaseModel)


def validated(record_type: type[M], what: str, /, **fields: Any) -> M:
    """Build a `record_type`, turning pydantic's report into one `InvalidValueError` line."""
    try:
        return record_type(**fields)
    except ValidationError as exc:
        raise InvalidValueError(f"invalid {what}: {describe_validation_error(exc)}") from exc


def describe_validation_error(exc: ValidationError) -> str:
    """`field: problem; other_field: problem` from a pydantic `ValidationError`."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"] if not isinstance(p, int))
        message = error["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)
