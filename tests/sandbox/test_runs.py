"""Escapes tried by an agent in a run and by a task's check, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskline import Status, Taskline, render
from taskline.config import AgentConfig, Config, load_config, private_paths
from taskline.errors import ConfigError
from taskline.records import SandboxMode
from taskline.tools.sandbox import SandboxSettings
from tests.engine.scripting import call, last_tool_results, scripted, submit


@pytest.fixture
def sandboxed(tl: Taskline, tmp_path: Path, database_url: str) -> Taskline:
    """`tl` with its home holding a token and a database file, hidden as `Taskline.open` does."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "api-token").write_text("tl-secret-token\n")
    (home / "taskline.db").write_text("not for agents\n")
    tl.home = home
    tl.private = private_paths(home, database_url, None)
    return tl


def test_an_agent_cannot_read_taskline_files(sandboxed: Taskline) -> None:
    task = sandboxed.create_task("Steal the token")
    home = sandboxed.home
    factory, [model] = scripted(
        [
            call("run_command", command="cat ../../api-token ../../taskline.db"),
            call("run_command", command=f"cat {home}/api-token; ls -A {home}"),
            submit("Could not."),
        ]
    )
    sandboxed.model_factory = factory
    sandboxed.assign(task.id, "coder")

    done = sandboxed.run_task(task.id)

    assert done.status is Status.COMPLETED
    assert last_tool_results(model.calls[1]) == [
        (
            "run_command",
            "cat: ../../api-token: No such file or directory\n"
            "cat: ../../taskline.db: No such file or directory\n[exit code 1]",
            True,
        )
    ]
    assert last_tool_results(model.calls[2]) == [
        (
            "run_command",
            f"cat: {home}/api-token: No such file or directory\nworkspaces\n[exit code 0]",
            False,
        )
    ]


def test_a_check_cannot_reach_secrets_network_or_outlive_its_run(
    sandboxed: Taskline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-check-secret")
    home = sandboxed.home
    task = sandboxed.create_task(
        "Checked work",
        checks=[
            f"! cat {home}/api-token ../../api-token",
            "! grep -q sk-check-secret /proc/1/environ /proc/$PPID/environ /proc/self/environ",
            "! (exec 3<>/dev/tcp/127.0.0.1/9)",
            "test $(ls /proc | grep -c '^[0-9]') -le 5",
        ],
    )
    factory, _ = scripted([submit("Done.")])
    sandboxed.model_factory = factory
    sandboxed.assign(task.id, "coder")

    done = sandboxed.run_task(task.id)

    assert (done.status, sandboxed.store.reviews(task.id)[0].feedback) == (
        Status.COMPLETED,
        "all 4 checks passed",
    )


def test_checks_follow_the_network_of_the_tasks_agent(sandboxed: Taskline) -> None:
    sandboxed.config = Config(agents={"coder": AgentConfig(network=True)})
    task = sandboxed.create_task("Online", checks=["test -n \"$(ip -o link | grep -v ' lo:')\""])
    factory, _ = scripted([submit("Done.")])
    sandboxed.model_factory = factory
    sandboxed.assign(task.id, "coder")

    assert sandboxed.run_task(task.id).status is Status.COMPLETED


def test_a_mistake_in_the_sandbox_table_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "taskline.toml"
    path.write_text('[sandbox]\nmode = "docker"\n[agents.coder]\nenv = ["NOT A NAME"]\n')

    with pytest.raises(ConfigError) as raised:
        load_config(path)

    assert str(raised.value) == (
        f"{path}: agents.coder.env: 'NOT A NAME' is not a variable name;"
        " sandbox.mode: Input should be 'bubblewrap' or 'none'"
    )


@pytest.mark.parametrize(("mode", "shown"), [("bubblewrap", False), ("none", True)])
def test_every_run_records_whether_it_was_sandboxed(
    sandboxed: Taskline, capsys: pytest.CaptureFixture[str], mode: SandboxMode, shown: bool
) -> None:
    sandboxed.config = Config(sandbox=SandboxSettings(mode=mode))
    task = sandboxed.create_task("Say where", checks=["true"])
    factory, [model] = scripted([call("run_command", command="echo here"), submit("Said.")])
    sandboxed.model_factory = factory
    sandboxed.assign(task.id, "coder")

    done = sandboxed.run_task(task.id)

    assert done.status is Status.COMPLETED
    assert last_tool_results(model.calls[1]) == [("run_command", "here\n[exit code 0]", False)]
    [run] = sandboxed.detail(task.id).runs
    assert run.sandbox == mode
    render.task_detail(
        done, sandboxed.transitions(task.id), sandboxed.events(task.id), sandboxed.detail(task.id)
    )
    run_line = next(line for line in capsys.readouterr().out.splitlines() if "Run 1" in line)
    assert run_line == "Run 1 (first, coder on scripted:none): submitted" + (
        " · unsandboxed: commands ran without a sandbox" if shown else ""
    )
