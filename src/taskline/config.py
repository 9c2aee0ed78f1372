"""Where taskline keeps its data and what `taskline.toml` may say.

    TASKLINE_HOME          data directory (default: .taskline in the current directory)
    TASKLINE_DATABASE_URL  database (default: SQLite at $TASKLINE_HOME/taskline.db)
    TASKLINE_CONFIG        config file (default: taskline.toml in the current directory)
    TASKLINE_DURABLE       0 runs tasks without DBOS checkpoints (default: 1, durable)

A config file declares agents and the defaults new tasks take; flags given on
the command line or arguments given in Python win over it.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from taskline.errors import ConfigError
from taskline.llm.registry import EndpointConfig
from taskline.models import (
    DEFAULT_CHECK_TIMEOUT_SECONDS,
    MAX_CHECK_TIMEOUT_SECONDS,
    EnvName,
    McpGrants,
    McpServerName,
    Name,
    NonBlank,
    UsdAmount,
    describe_validation_error,
)
from taskline.tools.base import DEFAULT_MAX_PARALLEL_TOOL_CALLS, DEFAULT_MAX_TOOL_CALLS_PER_TURN
from taskline.tools.mcp.config import McpServerConfig
from taskline.tools.sandbox import AgentAccess, SandboxPolicy, SandboxSettings

DEFAULT_MODEL = "local:smollm2"
DEFAULT_MAX_TURNS = 30
DEFAULT_TIMEOUT_SECONDS = 600.0
DEFAULT_MAX_BODY_BYTES = 1 << 20
"""Largest HTTP request body `taskline serve` accepts unless `--max-body-bytes` says."""


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class Defaults(_Section):
    """The `[defaults]` table: limits a new task takes when none are given."""

    model: NonBlank = DEFAULT_MODEL
    """Model of agents that name none: the embedded offline model unless set here."""
    max_turns: int = Field(default=DEFAULT_MAX_TURNS, ge=1)
    """Most LLM calls one run may make."""
    timeout_seconds: float = Field(default=DEFAULT_TIMEOUT_SECONDS, gt=0)
    """Wall-clock limit for one run."""
    check_timeout_seconds: float = Field(
        default=DEFAULT_CHECK_TIMEOUT_SECONDS, gt=0, le=MAX_CHECK_TIMEOUT_SECONDS
    )
    """Wall-clock limit of each of a task's checks."""
    budget_usd: UsdAmount | None = None
    """Spending limit per task; none means no limit."""
    budget_tokens: int | None = Field(default=None, ge=1)
    """Token limit per task (input plus output); none means no limit."""
    max_parallel_tool_calls: int = Field(default=DEFAULT_MAX_PARALLEL_TOOL_CALLS, ge=1)
    """Most tool calls of one turn that run at the same time."""
    max_tool_calls_per_turn: int = Field(default=DEFAULT_MAX_TOOL_CALLS_PER_TURN, ge=1)
    """Most tool calls of one turn that run at all; the rest get an error result each."""


class AgentConfig(_Section):
    """One `[agents.NAME]` table."""

    model: NonBlank | None = None
    """Model reference, as for `taskline agent add --model`; absent means `[defaults] model`."""
    role: str = ""
    """A short description of the agent's job."""
    instructions: str = ""
    """Personality and way of working."""
    skills: tuple[NonBlank, ...] = ()
    """What the agent is good at."""
    tools: tuple[Name, ...] | None = None
    """Tools the agent may call; absent means every built-in tool."""
    mcp: McpGrants = ()
    """MCP servers whose tools it may call: `["git", "tracker:get_issue,add_comment"]`."""
    budget_usd: UsdAmount | None = None
    """Default spending limit per task."""
    budget_tokens: int | None = Field(default=None, ge=1)
    """Default token limit per task (input plus output)."""
    network: bool = False
    """Whether the agent's commands, and its tasks' checks, may use the network."""
    env: tuple[EnvName, ...] = ()
    """Names of variables passed from taskline's environment into its commands."""


# The sandbox settings are the operator's, not data: they stay in the config file and
# are never stored with the agent, where anyone holding the API token could change them.
SANDBOX_FIELDS = frozenset({"network", "env"})


class Config(_Section):
    """The whole of `taskline.toml`."""

    defaults: Defaults = Defaults()
    """Limits for new tasks."""
    agents: dict[Name, AgentConfig] = {}
    """Agents by name; stored when taskline opens, so they can be assigned tasks."""
    endpoints: dict[Name, EndpointConfig] = {}
    """Model endpoints by name; `NAME:MODEL` references MODEL at endpoint NAME."""
    sandbox: SandboxSettings = SandboxSettings()
    """How commands and checks are confined."""
    mcp: dict[McpServerName, McpServerConfig] = {}
    """MCP servers by name, whose tools agents may be given (`[agents.NAME] mcp`)."""

    def sandbox_policy(self, private_paths: tuple[Path, ...]) -> SandboxPolicy:
        """Each agent's sandbox, hiding `private_paths` (taskline's own files) from all."""
        agents = {
            name: AgentAccess(network=agent.network, env=agent.env)
            for name, agent in self.agents.items()
        }
        return SandboxPolicy(settings=self.sandbox, agents=agents, private_paths=private_paths)


def taskline_home(env: Mapping[str, str] = os.environ) -> Path:
    """The data directory: `$TASKLINE_HOME`, else `.taskline` here."""
    return Path(env.get("TASKLINE_HOME") or ".taskline")


def database_url(home: Path, env: Mapping[str, str] = os.environ) -> str:
    """`$TASKLINE_DATABASE_URL`, else SQLite in `home`."""
    return env.get("TASKLINE_DATABASE_URL") or f"sqlite:///{home / 'taskline.db'}"


def durable_enabled(env: Mapping[str, str] = os.environ) -> bool:
    """Whether runs are DBOS workflows that survive a crash: unless TASKLINE_DURABLE is 0."""
    return env.get("TASKLINE_DURABLE", "1").strip().lower() not in ("0", "false", "no", "off")


def config_path(env: Mapping[str, str] = os.environ) -> Path | None:
    """The config file to read, or None when there is none to read."""
    if env.get("TASKLINE_CONFIG"):
        path = Path(env["TASKLINE_CONFIG"])
        if not path.is_file():
            raise ConfigError(f"TASKLINE_CONFIG names {path}, which is not a file")
        return path
    default = Path("taskline.toml")
    return default if default.is_file() else None


def private_paths(home: Path, url: str, config: Path | None) -> tuple[Path, ...]:
    """taskline's own files, which no command may see: the data directory, the SQLite
    database and its journals, and the config file."""
    paths = [home.absolute()]
    if url.startswith("sqlite:///"):
        database = Path(url.removeprefix("sqlite:///")).absolute()
        paths += [database, *(database.with_name(database.name + s) for s in ("-wal", "-shm"))]
    if config is not None:
        paths.append(config.absolute())
    return tuple(paths)


def load_config(path: Path | None) -> Config:
    """Read and check a config file; no file means every default."""
    if path is None:
        return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {describe_validation_error(exc)}") from exc
