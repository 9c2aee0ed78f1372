"""Tools inside a run: refused paths come back as errors, calls of one turn run together,
and an agent gets only the tools it is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskline import Status, Taskline

from .scripting import (
    AUTO_APPROVED,
    CREATED_AND_ASSIGNED,
    STARTED,
    SUBMITTED,
    call,
    calls,
    last_tool_results,
    metrics_of,
    names,
    scripted,
    submit,
    task_prompt,
    trail,
)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def test_path_escapes_are_tool_errors_and_the_run_goes_on(
    tl: Taskline, home: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret\n")
    absolute = outside / "abs.txt"
    factory, [model] = scripted(
        [
            call("write_file", path="../x.txt", content="escaped\n"),
            call("write_file", path="a/../../y.txt", content="escaped\n"),
            call("write_file", path=str(absolute), content="escaped\n"),
            call("write_file", path="link/z.txt", content="escaped\n"),
            call("read_file", path="link/secret.txt"),
            call("edit_file", path="secret-link.txt", old="secret", new="leaked"),
            call("list_dir", path="link"),
            submit("Could not write outside the workspace."),
        ]
    )
    tl.home, tl.model_factory = home, factory
    task = tl.create_task("Try to escape")
    workspace = home / "workspaces" / task.id
    workspace.mkdir(parents=True)
    (workspace / "link").symlink_to(outside, target_is_directory=True)
    (workspace / "secret-link.txt").symlink_to(outside / "secret.txt")
    tl.assign(task.id, "coder")

    done = tl.run_task(task.id)

    # Each refusal reached the model as the result of its call, marked as an error.
    assert [last_tool_results(c) for c in model.calls[1:]] == [
        [("write_file", "path '../x.txt' is outside the workspace", True)],
        [("write_file", "path 'a/../../y.txt' is outside the workspace", True)],
        [("write_file", f"path '{absolute}' is outside the workspace", True)],
        [
            (
                "write_file",
                "path 'link/z.txt' leads through a symbolic link, which file tools do not follow",
                True,
            )
        ],
        [
            (
                "read_file",
                "path 'link/secret.txt' leads through a symbolic link, which file tools do not follow",
                True,
            )
        ],
        [
            (
                "edit_file",
                "path 'secret-link.txt' leads through a symbolic link, which file tools do not follow",
                True,
            )
        ],
        [
            (
                "list_dir",
                "path 'link' leads through a symbolic link, which file tools do not follow",
                True,
            )
        ],
        # and the run went on to hand in its work
    ]
    assert done.status is Status.COMPLETED
    assert done.summary == "Could not write outside the workspace."
    assert trail(tl, task.id) == [*CREATED_AND_ASSIGNED, STARTED, SUBMITTED, AUTO_APPROVED]
    # Nothing was written anywhere outside.
    assert not (home / "workspaces" / "x.txt").exists()
    assert not (home / "y.txt").exists()
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert (outside / "secret.txt").read_text() == "secret\n"
    assert tl.artifacts(task.id) == []
    [run] = tl.runs(task.id)
    assert [(c.name, c.is_error) for c in tl.store.tool_calls(run.id)] == [
        ("write_file", True),
        ("write_file", True),
        ("write_file", True),
        ("write_file", True),
        ("read_file", True),
        ("edit_file", True),
        ("list_dir", True),
        ("submit_work", False),
    ]
    assert metrics_of(tl, task.id)[6:] == (8, 1)


def meet(mine: str, other: str) -> str:
    """A command that marks its arrival, then waits (at most a minute) for the other one's.

    Run one after the other, the first waits for a mark that never comes and times out.
    """
    return f"touch {mine}.here; until [ -e {other}.here ]; do sleep 0.01; done; echo {mine}"


def test_tool_calls_of_one_turn_run_concurrently(tl: Taskline, home: Path) -> None:
    factory, [model] = scripted(
        [
            calls(
                ("run_command", {"command": meet("one", "two"), "timeout_seconds": 60}),
                ("run_command", {"command": meet("two", "one"), "timeout_seconds": 60}),
            ),
            submit("Met each other."),
        ]
    )
    tl.home, tl.model_factory = home, factory
    task = tl.create_task("Two commands that wait for each other")
    tl.assign(task.id, "coder")

    done = tl.run_task(task.id)

    assert done.status is Status.COMPLETED
    [run] = tl.runs(task.id)
    both = [c for c in tl.store.tool_calls(run.id) if c.turn == 1]
    # Each finished only once the other had started: they were running at the same time.
    assert [(c.index, c.output, c.is_error) for c in both] == [
        (0, "one\n[exit code 0]", False),
        (1, "two\n[exit code 0]", False),
    ]
    # The results went back in the order of the calls.
    assert last_tool_results(model.calls[1]) == [
        ("run_command", "one\n[exit code 0]", False),
        ("run_command", "two\n[exit code 0]", False),
    ]


def test_an_agent_gets_only_its_allowed_tools(tl: Taskline, home: Path) -> None:
    tl.add_agent("reader", model="scripted:none", tools=["read_file"])
    factory, [model] = scripted(
        [
            call("write_file", path="notes.txt", content="not allowed\n"),
            call("run_command", command="touch sneaky.txt"),
            submit("I may only read."),
        ]
    )
    tl.home, tl.model_factory = home, factory
    task = tl.create_task("Read only")
    tl.assign(task.id, "reader")

    done = tl.run_task(task.id)

    # Offered: its one tool, and submit_work, without which it could never finish.
    assert names(model.calls[0].tools) == ["read_file", "submit_work"]
    prompt = task_prompt(model.calls[0])
    assert "- write_file:" not in prompt
    assert "- read_file:" in prompt
    assert "- submit_work:" in prompt
    assert last_tool_results(model.calls[1]) == [
        ("write_file", "unknown tool 'write_file'; available: read_file, submit_work", True)
    ]
    assert last_tool_results(model.calls[2]) == [
        ("run_command", "unknown tool 'run_command'; available: read_file, submit_work", True)
    ]
    assert done.status is Status.COMPLETED
    assert done.summary == "I may only read."
    workspace = home / "workspaces" / task.id
    assert list(workspace.iterdir()) == []
    assert tl.artifacts(task.id) == []
