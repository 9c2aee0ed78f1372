"""Put a task in any status by a legal path, for tests that start from there."""

from __future__ import annotations

from collections import deque

from taskline import Status, Taskline
from taskline.lifecycle import INITIAL, TRANSITIONS


def path_to(target: Status) -> list[Status]:
    """The shortest list of moves that takes a new task to `target`."""
    previous: dict[Status, Status] = {}
    queue = deque([INITIAL])
    while queue:
        status = queue.popleft()
        for nxt in sorted(TRANSITIONS[status]):
            if nxt not in previous and nxt is not INITIAL:
                previous[nxt] = status
                queue.append(nxt)
    path = []
    while target is not INITIAL:
        path.append(target)
        target = previous[target]
    return path[::-1]


def task_in(tl: Taskline, status: Status, agent: str = "coder") -> str:
    """Create a task and walk it to `status` through the table."""
    task = tl.create_task(f"task to put in {status.value}")
    for step in path_to(status):
        if step is Status.ASSIGNED:
            tl.assign(task.id, agent)
        else:
            tl.move(task.id, step)
    assert tl.get_task(task.id).status is status
    return task.id
