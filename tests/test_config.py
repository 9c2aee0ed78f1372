from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from taskline import Taskline
from taskline.config import (
    DEFAULT_MAX_TURNS,
    DEFAULT_TIMEOUT_SECONDS,
    config_path,
    database_url,
    load_config,
    taskline_home,
)
from taskline.errors import ConfigError

CONFIG = """
[defaults]
max_turns = 12
timeout_seconds = 120
budget_usd = 0.25

[agents.coder]
model = "openai:gpt-4o-mini"
role = "backend engineer"
tools = ["read_file", "write_file"]
budget_usd = 0.5
"""


def test_no_file_means_defaults() -> None:
    config = load_config(None)
    assert (config.defaults.max_turns, config.defaults.timeout_seconds) == (
        DEFAULT_MAX_TURNS,
        DEFAULT_TIMEOUT_SECONDS,
    )
    assert config.defaults.budget_usd is None
    assert config.agents == {}


def test_paths_come_from_the_environment(tmp_path: Path) -> None:
    assert taskline_home({}) == Path(".taskline")
    assert taskline_home({"TASKLINE_HOME": "/data/tl"}) == Path("/data/tl")
    assert database_url(Path("/data/tl"), {}) == "sqlite:////data/tl/taskline.db"
    assert database_url(Path("x"), {"TASKLINE_DATABASE_URL": "postgresql://h/db"}) == (
        "postgresql://h/db"
    )
    assert config_path({}) is None
    Path("taskline.toml").write_text("")
    assert config_path({}) == Path("taskline.toml")
    other = tmp_path / "other.toml"
    other.write_text("")
    assert config_path({"TASKLINE_CONFIG": str(other)}) == other
    with pytest.raises(
        ConfigError, match="^TASKLINE_CONFIG names /nope.toml, which is not a file$"
    ):
        config_path({"TASKLINE_CONFIG": "/nope.toml"})


def test_defaults_and_agents_are_applied(tmp_path: Path) -> None:
    Path("taskline.toml").write_text(CONFIG)
    with Taskline.open(home=tmp_path / "home", env={}) as tl:
        coder = tl.get_agent("coder")
        assert (coder.model, coder.role, coder.tools, coder.budget_usd) == (
            "openai:gpt-4o-mini",
            "backend engineer",
            ("read_file", "write_file"),
            Decimal("0.5"),
        )
        task = tl.create_task("from config")
        assert (task.max_turns, task.timeout_seconds, task.budget_usd) == (
            12,
            120.0,
            Decimal("0.25"),
        )
        explicit = tl.create_task("flags win", max_turns=3, timeout_seconds=9, budget_usd="2")
        assert (explicit.max_turns, explicit.timeout_seconds, explicit.budget_usd) == (
            3,
            9.0,
            Decimal("2"),
        )


def test_changed_config_agent_is_updated(tmp_path: Path) -> None:
    Path("taskline.toml").write_text(CONFIG)
    with Taskline.open(home=tmp_path / "home", env={}) as tl:
        created_at = tl.get_agent("coder").created_at
    Path("taskline.toml").write_text(CONFIG.replace("gpt-4o-mini", "gpt-4o"))
    with Taskline.open(home=tmp_path / "home", env={}) as tl:
        coder = tl.get_agent("coder")
        assert (coder.model, coder.created_at) == ("openai:gpt-4o", created_at)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[defaults\n", "taskline.toml is not valid TOML: Expected ']' at the end of a table declaration (at line 1, column 10)"),
        ("[defaults]\nmax_turn = 3\n", "taskline.toml: defaults.max_turn: Extra inputs are not permitted"),
        ("[defaults]\nmax_turns = 0\n", "taskline.toml: defaults.max_turns: Input should be greater than or equal to 1"),
        ("[agents.coder]\nbudget_usd = -1\n", "taskline.toml: agents.coder.budget_usd: must be greater than 0"),
        ("[endpoints.router]\nkind = 'grpc'\nbase_url = 'http://x'\n", "taskline.toml: endpoints.router.kind: Input should be 'openai' or 'anthropic'"),
        ("[agents.'bad name']\nmodel = 'm'\n", "taskline.toml: agents.bad name.[key]: must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit"),
    ],
)  # fmt: skip
def test_bad_config_is_one_clear_error(text: str, message: str) -> None:
    Path("taskline.toml").write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(Path("taskline.toml"))
    assert str(caught.value) == message


def test_endpoints_are_read_and_resolve_to_models(tmp_path: Path) -> None:
    Path("taskline.toml").write_text(
        "[endpoints.router]\n"
        'kind = "openai"\n'
        'base_url = "http://127.0.0.1:9/v1"\n'
        'api_key_env = "ROUTER_KEY"\n'
        "max_attempts = 5\n"
        "prices = { input_usd_per_mtok = 0.5, output_usd_per_mtok = 1.5 }\n"
        "\n[agents.coder]\n"
        'model = "router:some-model"\n'
    )
    config = load_config(Path("taskline.toml"))
    endpoint = config.endpoints["router"]
    assert (endpoint.kind, endpoint.base_url, endpoint.api_key_env, endpoint.max_attempts) == (
        "openai",
        "http://127.0.0.1:9/v1",
        "ROUTER_KEY",
        5,
    )
    assert endpoint.prices is not None
    assert (endpoint.prices.input_usd_per_mtok, endpoint.prices.output_usd_per_mtok) == (
        Decimal("0.5"),
        Decimal("1.5"),
    )
    with Taskline.open(home=tmp_path / "home", env={}) as tl:
        assert tl.get_agent("coder").model == "router:some-model"
        assert config.agents["coder"].model == "router:some-model"
