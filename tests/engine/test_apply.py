"""Tasks run in a copy of their workspace, and the work written back (or not) by `apply`.

Real repositories, the scripted model, real tools in the sandbox, and the store on
SQLite and PostgreSQL (the `tl` fixture).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from taskline import Status, Taskline
from taskline.engine.apply import AppliedChange
from taskline.errors import InvalidValueError, WorkspaceChangedError
from taskline.llm.scripted import ScriptedResponse
from taskline.models import Task
from tests.engine.gitrepo import PROJECT_COPIED, files_of, project, worktrees, write
from tests.engine.scripting import call, scripted, submit

# What the agent does in the copy of `project`.
WORK = [
    call("write_file", path="src/app.py", content="v3\n"),
    call("write_file", path="docs/new.md", content="# new\n"),
    call("run_command", command="rm README.md && git status --short"),
    submit("Changed the app, added docs, removed the readme."),
]
WORKED = {
    ".gitignore": "*.log\nbuild/\n",
    "docs/new.md": "# new\n",
    "notes.txt": "untracked\n",
    "src/app.py": "v3\n",
    "staged.txt": "new\n",
}
APPLIED = [
    AppliedChange(path="README.md", change="deleted", written=True),
    AppliedChange(path="docs/new.md", change="created", written=True),
    AppliedChange(path="src/app.py", change="modified", written=True),
]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return project(tmp_path / "repo")


def run_in_copy(
    tl: Taskline,
    home: Path,
    workspace: Path,
    *runs: list[ScriptedResponse],
    checks: tuple[str, ...] = (),
) -> Task:
    """Create a task on a copy of `workspace` and run it, each run playing one of `runs`."""
    factory, _ = scripted(*(runs or [WORK]))
    tl.home, tl.model_factory = home, factory
    task = tl.create_task("Work on a copy", workspace=workspace, copy=True, checks=checks)
    tl.assign(task.id, "coder")
    return tl.run_task(task.id)


def test_the_agent_works_in_a_copy_and_apply_writes_its_work_back(
    tl: Taskline, home: Path, repo: Path
) -> None:
    users_tree = files_of(repo)

    done = run_in_copy(tl, home, repo)

    copy = home.absolute() / "copies" / done.id / "repo"
    assert (done.status, done.copy_dir, done.workspace) == (Status.COMPLETED, str(copy), str(repo))
    assert files_of(repo) == users_tree
    assert files_of(copy) == WORKED
    [run] = tl.detail(done.id).tool_calls.values()
    # git works in the copy, inside the sandbox, though the repository is under /tmp.
    assert (
        run[2].output
        == " D README.md\n D gone.txt\n M src/app.py\n M staged.txt\n?? docs/\n?? notes.txt\n[exit code 0]"
    )
    assert [(a.path, a.change) for a in tl.artifacts(done.id)] == [
        ("README.md", "deleted"),
        ("docs/new.md", "created"),
        ("src/app.py", "modified"),
    ]

    applied = tl.apply_copy(done.id)

    assert (applied.changes, applied.workspace, applied.copy) == (APPLIED, repo, copy)
    expected = {**users_tree, "docs/new.md": "# new\n", "src/app.py": "v3\n"}
    del expected["README.md"]
    assert files_of(repo) == expected
    assert not copy.parent.exists()
    assert worktrees(repo) == [str(repo)]
    [event] = tl.events(done.id)
    assert (event.kind, event.actor, event.detail) == (
        "applied",
        "user:tester",
        {"workspace": str(repo), "created": 1, "modified": 1, "deleted": 1},
    )
    with pytest.raises(InvalidValueError) as twice:
        tl.apply_copy(done.id)
    assert str(twice.value) == (
        f"task {done.id}'s copy was applied already, by user:tester at"
        f" {event.at:%Y-%m-%d %H:%M:%S} UTC: there is no copy to apply"
    )


def test_apply_refuses_files_the_user_changed_meanwhile_and_writes_nothing(
    tl: Taskline, home: Path, repo: Path
) -> None:
    done = run_in_copy(tl, home, repo)
    write(repo, {"src/app.py": "the user's v3\n", "docs/new.md": "the user's docs\n"})
    users_tree = files_of(repo)
    copy = Path(done.copy_dir or "")

    with pytest.raises(WorkspaceChangedError) as refused:
        tl.apply_copy(done.id)

    assert str(refused.value) == (
        f"task {done.id} not applied: changed in {repo} since the task started:"
        f" docs/new.md, src/app.py; nothing was written, the copy stays at {copy}"
    )
    assert refused.value.paths == ("docs/new.md", "src/app.py")
    assert files_of(repo) == users_tree  # README.md, which nobody touched, is still there
    assert files_of(copy) == WORKED
    assert tl.events(done.id) == []

    # The user takes back their edits: the apply goes through.
    write(repo, {"src/app.py": "v2\n"})
    (repo / "docs/new.md").unlink()
    assert tl.apply_copy(done.id).changes == APPLIED


def test_files_the_user_already_has_as_the_work_has_them_are_not_written_again(
    tl: Taskline, home: Path, repo: Path
) -> None:
    done = run_in_copy(tl, home, repo)
    write(repo, {"src/app.py": "v3\n"})  # the same edit, made by the user
    (repo / "README.md").unlink()

    applied = tl.apply_copy(done.id)

    assert applied.changes == [
        AppliedChange(path="README.md", change="deleted", written=False),
        AppliedChange(path="docs/new.md", change="created", written=True),
        AppliedChange(path="src/app.py", change="modified", written=False),
    ]


def test_a_plain_copy_applies_deletions_and_removes_emptied_directories(
    tl: Taskline, home: Path, tmp_path: Path
) -> None:
    source = tmp_path / "plain"
    write(
        source,
        {
            "old/only.txt": "removed with its directory\n",
            "kept/a.txt": "a\n",
            "kept/b.txt": "b\n",
            "tool.sh": "#!/bin/sh\necho old\n",
        },
    )
    (source / "tool.sh").chmod(0o755)
    done = run_in_copy(
        tl,
        home,
        source,
        [
            call("run_command", command="rm -r old kept/a.txt && echo 'echo new' > tool.sh"),
            submit("Removed the old files."),
        ],
    )
    assert files_of(source)["old/only.txt"] == "removed with its directory\n"

    applied = tl.apply_copy(done.id)

    assert applied.changes == [
        AppliedChange(path="kept/a.txt", change="deleted", written=True),
        AppliedChange(path="old/only.txt", change="deleted", written=True),
        AppliedChange(path="tool.sh", change="modified", written=True),
    ]
    assert files_of(source) == {"kept/b.txt": "b\n", "tool.sh": "echo new\n"}
    assert not (source / "old").exists()
    assert (source / "tool.sh").stat().st_mode & 0o777 == 0o755


def test_discard_removes_the_copy_and_writes_nothing(tl: Taskline, home: Path, repo: Path) -> None:
    done = run_in_copy(tl, home, repo)
    users_tree = files_of(repo)

    where = tl.discard_copy(done.id)

    assert where == Path(done.copy_dir or "")
    assert not where.exists()
    assert files_of(repo) == users_tree
    assert worktrees(repo) == [str(repo)]
    [event] = tl.events(done.id)
    assert (event.kind, event.detail) == ("discarded", {"copy": str(where)})
    with pytest.raises(InvalidValueError, match=r"'s copy was discarded already, by user:tester"):
        tl.apply_copy(done.id)


def test_a_rework_reuses_the_copy_and_apply_writes_the_final_work(
    tl: Taskline, home: Path, repo: Path
) -> None:
    done = run_in_copy(
        tl, home, repo,
        [call("write_file", path="src/app.py", content="draft\n"), submit("A draft.")],
        [call("write_file", path="src/app.py", content="final\n"), submit("Final.")],
        checks=("grep -q final src/app.py",),
    )  # fmt: skip
    baseline = (Path(done.copy_dir or "").parent / "baseline.json").read_text()

    assert [(r.number, r.trigger) for r in tl.runs(done.id)] == [(1, "first"), (2, "rework")]
    assert done.status is Status.COMPLETED
    # Each run's artifacts are its own; the copy and its baseline are the first run's.
    assert [(a.path, a.change, a.size) for a in tl.artifacts(done.id)] == [
        ("src/app.py", "modified", 6),
        ("src/app.py", "modified", 6),
    ]
    assert (Path(done.copy_dir or "").parent / "baseline.json").read_text() == baseline
    assert tl.apply_copy(done.id).changes == [
        AppliedChange(path="src/app.py", change="modified", written=True)
    ]
    assert (repo / "src/app.py").read_text() == "final\n"


def test_a_retry_after_apply_copies_the_workspace_anew(
    tl: Taskline, home: Path, repo: Path
) -> None:
    done = run_in_copy(
        tl,
        home,
        repo,
        [call("write_file", path="src/app.py", content="first try\n")],
    )
    assert done.status is Status.FAILED  # the script ran out: the agent never submitted
    tl.apply_copy(done.id)
    factory, _ = scripted([call("write_file", path="more.txt", content="more\n"), submit("More.")])
    tl.model_factory = factory

    again = tl.run_task(done.id)

    assert again.status is Status.COMPLETED
    copy = Path(again.copy_dir or "")
    assert files_of(copy) == {**PROJECT_COPIED, "src/app.py": "first try\n", "more.txt": "more\n"}
    assert [c.path for c in tl.apply_copy(done.id).changes] == ["more.txt"]


def test_apply_and_discard_say_why_they_cannot(tl: Taskline, home: Path, repo: Path) -> None:
    tl.home = home
    in_place = tl.create_task("In place", workspace=repo)
    waiting = tl.create_task("Not run yet", workspace=repo, copy=True)
    running = tl.create_task("Running", workspace=repo, copy=True)
    tl.assign(running.id, "coder")
    tl.move(running.id, "IN_PROGRESS")

    messages = []
    for task_id in (in_place.id, waiting.id, running.id):
        with pytest.raises(InvalidValueError) as refused:
            tl.apply_copy(task_id)
        messages.append(str(refused.value))
    with pytest.raises(InvalidValueError) as discard:
        tl.discard_copy(in_place.id)

    assert messages == [
        f"task {in_place.id} did not run in a copy (it was created without --copy): its work is"
        " in its workspace already, there is nothing to apply",
        f"task {waiting.id} has no copy yet: it is made when the task first runs",
        f"task {running.id} is IN_PROGRESS: its agent is still at work in the copy; apply it"
        " once the run has ended",
    ]
    assert str(discard.value).endswith("there is nothing to discard")


def test_a_copy_needs_an_existing_directory(tl: Taskline, tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("not a directory\n")
    messages = []
    for workspace in (None, tmp_path / "missing", tmp_path / "file.txt"):
        with pytest.raises(InvalidValueError) as refused:
            tl.create_task("Copy", workspace=workspace, copy=True)
        messages.append(str(refused.value))

    assert messages == [
        "invalid task: a copy needs a workspace to copy: give its directory (--workspace DIR)",
        f"invalid task: workspace {tmp_path / 'missing'} does not exist: there is nothing to copy",
        f"invalid task: workspace {tmp_path / 'file.txt'} is not a directory",
    ]
    assert tl.list_tasks() == []


def test_a_workspace_gone_before_the_run_fails_the_task_in_one_line(
    tl: Taskline, home: Path, tmp_path: Path
) -> None:
    source = tmp_path / "soon-gone"
    write(source, {"a.txt": "a\n"})
    tl.home = home
    task = tl.create_task("Copy", workspace=source, copy=True)
    tl.assign(task.id, "coder")
    (source / "a.txt").unlink()
    source.rmdir()

    failed = tl.run_task(task.id)

    assert (failed.status, failed.failure_category, failed.failure_message) == (
        Status.FAILED,
        "crashed",
        f"cannot copy workspace {source}: it is not a directory",
    )
    assert re.fullmatch(r"[0-9A-Z]{26}", failed.id)
