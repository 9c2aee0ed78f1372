"""The `[mcp.NAME]` tables of taskline.toml: which MCP servers exist and how to reach them.

    [mcp.git]                                   a stdio server: a command, started per run
    command = ["mcp-server-git", "--repository", "{workspace}"]
    env = ["GITHUB_TOKEN"]                      variables passed by name; nothing else

    [mcp.tracker]                               a Streamable HTTP server: a URL
    url = "https://tracker.example/mcp"
    headers = { Authorization = "Bearer ${TRACKER_TOKEN}" }

Header values name their secrets as `${VAR}`, filled in from taskline's
environment only when the connection is made: the config, the store and every
listing keep the names, never the values.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from taskline.errors import ConfigError, McpServerError
from taskline.models import EnvName, McpGrant, NonBlank

DEFAULT_CALL_TIMEOUT_SECONDS = 120.0
DEFAULT_START_TIMEOUT_SECONDS = 60.0
WORKSPACE_PLACEHOLDER = "{workspace}"
VARIABLE = re.compile(r"\$\{([^}]*)\}")
VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"{value!r} is not an http:// or https:// URL")
    return value


def _headers(value: dict[str, str]) -> dict[str, str]:
    for name, template in value.items():
        if not HEADER_NAME.match(name):
            raise ValueError(f"{name!r} is not a header name")
        for variable in VARIABLE.findall(template):
            if not VARIABLE_NAME.match(variable):
                raise ValueError(f"header {name}: ${{{variable}}} does not name a variable")
        if "\n" in template or "\r" in template:
            raise ValueError(f"header {name}: a value must be one line")
    return value


class McpServerConfig(BaseModel):
    """One `[mcp.NAME]` table: a stdio server (`command`) or a Streamable HTTP one (`url`)."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    command: Annotated[tuple[NonBlank, ...], Field(min_length=1)] | None = None
    """The server's command line, started per run in the task's workspace (and in its
    sandbox); `{workspace}` in any part is the workspace's path."""
    url: Annotated[str, AfterValidator(_http_url)] | None = None
    """Where a Streamable HTTP server answers."""
    env: tuple[EnvName, ...] = ()
    """Variables passed by name from taskline's environment to a stdio server; it gets
    nothing else of it."""
    network: bool = False
    """Whether a stdio server may use the network from inside the sandbox."""
    # Never in a repr: a value written out in the file may be a secret.
    headers: Annotated[dict[str, str], AfterValidator(_headers)] = Field(default={}, repr=False)
    """HTTP headers sent to a URL server; `${VAR}` in a value is the variable's value."""
    timeout_seconds: float = Field(default=DEFAULT_CALL_TIMEOUT_SECONDS, gt=0)
    """Time limit of one tool call; a call past it is an error result for the model."""
    start_timeout_seconds: float = Field(default=DEFAULT_START_TIMEOUT_SECONDS, gt=0)
    """Time the server has to start and list its tools."""

    @model_validator(mode="after")
    def _one_transport(self) -> McpServerConfig:
        if (self.command is None) == (self.url is None):
            raise ValueError("give either command (a stdio server) or url (an HTTP server)")
        if self.url is not None and (self.env or self.network):
            raise ValueError("env and network are for stdio servers (command), not url")
        if self.command is not None and self.headers:
            raise ValueError("headers are for HTTP servers (url), not command")
        return self

    @property
    def transport(self) -> Literal["stdio", "http"]:
        """`stdio` for a command, `http` for a URL."""
        return "stdio" if self.command is not None else "http"

    @property
    def target(self) -> str:
        """The command line or the URL, as a person reads it; no header is in it."""
        return " ".join(self.command) if self.command is not None else str(self.url)


def resolved_headers(
    server: str, config: McpServerConfig, environ: Mapping[str, str] = os.environ
) -> dict[str, str]:
    """The headers with each `${VAR}` replaced by its value; `McpServerError` naming a
    variable that is not set (never a value)."""
    resolved = {}
    for name, template in config.headers.items():
        missing = [v for v in VARIABLE.findall(template) if v not in environ]
        if missing:
            raise McpServerError(
                server,
                f"did not start: header {name} needs ${{{missing[0]}}}, which is not set",
            )
        resolved[name] = VARIABLE.sub(lambda match: environ[match.group(1)], template)
    return resolved


def check_grants(grants: Sequence[McpGrant], servers: Mapping[str, McpServerConfig]) -> None:
    """`ConfigError` when a grant names a server taskline.toml does not declare."""
    for grant in grants:
        if grant.server not in servers:
            declared = ", ".join(sorted(servers)) or "none"
            raise ConfigError(
                f"unknown MCP server {grant.server!r}; servers in the [mcp] tables of"
                f" taskline.toml: {declared}"
            )
