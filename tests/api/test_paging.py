"""Pages of tasks, cut by the database (limit, offset, an `after` cursor), and the metrics rows
read in one query: on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from taskline import Taskline
from taskline.models import utcnow
from taskline.records import Run, TaskMetrics
from taskline.reports import TaskRow


def ids(response: Any) -> list[str]:
    """The ids of the tasks a response lists."""
    return [task["id"] for task in response.json()]


def test_a_page_is_cut_by_limit_offset_and_after(client: TestClient, served: Taskline) -> None:
    t = [served.create_task(f"Task {n}").id for n in range(5)]

    pages = {
        "first two": client.get("/api/tasks", params={"limit": 2}),
        "skip two": client.get("/api/tasks", params={"limit": 2, "offset": 2}),
        "past the second": client.get("/api/tasks", params={"limit": 2, "after": t[1]}),
        "past the last": client.get("/api/tasks", params={"after": t[4]}),
        "newest, past the fourth": client.get(
            "/api/tasks", params={"order": "newest", "limit": 2, "after": t[3]}
        ),
        "newest, past then skip": client.get(
            "/api/tasks", params={"order": "newest", "after": t[3], "offset": 1}
        ),
    }

    assert {name: ids(page) for name, page in pages.items()} == {
        "first two": [t[0], t[1]],
        "skip two": [t[2], t[3]],
        "past the second": [t[2], t[3]],
        "past the last": [],
        "newest, past the fourth": [t[2], t[1]],
        "newest, past then skip": [t[1], t[0]],
    }
    assert {page.headers["x-total-count"] for page in pages.values()} == {"5"}
    assert pages["first two"].json() == [
        served.get_task(task_id).model_dump(mode="json") for task_id in t[:2]
    ]


def test_a_cursor_walks_every_task_once(client: TestClient, served: Taskline) -> None:
    made = [served.create_task(f"Task {n}").id for n in range(7)]
    seen: list[str] = []
    after: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 3, "order": "newest"}
        if after is not None:
            params["after"] = after
        page = ids(client.get("/api/tasks", params=params))
        if not page:
            break
        seen += page
        after = page[-1]

    assert seen == made[::-1]


def test_filters_are_counted_and_dependencies_kept(client: TestClient, served: Taskline) -> None:
    first = served.create_task("First").id
    second = served.create_task("Second", depends_on=[first]).id
    third = served.create_task("Third", depends_on=[first, second]).id
    for task_id in (first, third):
        served.assign(task_id, "coder")
    served.assign(second, "reviewer")

    of_coder = client.get("/api/tasks", params={"assignee": "coder", "limit": 1, "offset": 1})
    assigned = client.get("/api/tasks", params={"status": "ASSIGNED", "order": "newest"})
    nobody = client.get("/api/tasks", params={"assignee": "nobody"})

    assert (ids(of_coder), of_coder.headers["x-total-count"]) == ([third], "2")
    assert of_coder.json()[0]["dependencies"] == sorted([first, second])
    assert (ids(assigned), assigned.headers["x-total-count"]) == ([third, second, first], "3")
    assert [t["dependencies"] for t in assigned.json()] == [sorted([first, second]), [first], []]
    assert (nobody.json(), nobody.headers["x-total-count"]) == ([], "0")


def test_the_default_page_is_100(client: TestClient, served: Taskline) -> None:
    made = [served.create_task(f"Task {n}").id for n in range(101)]

    default = client.get("/api/tasks")
    widest = client.get("/api/tasks", params={"limit": 1000})

    assert (ids(default), default.headers["x-total-count"]) == (made[:100], "101")
    assert ids(widest) == made


def test_a_page_past_the_limits_is_422(client: TestClient) -> None:
    cases = {
        "limit=1001": "invalid request: query.limit: Input should be less than or equal to 1000",
        "limit=0": "invalid request: query.limit: Input should be greater than or equal to 1",
        "offset=-1": "invalid request: query.offset: Input should be greater than or equal to 0",
        "after=a%00b": (
            "invalid request: query.after: must not contain NUL characters or unpaired surrogates"
        ),
        "assignee=a%00b": (
            "invalid request: query.assignee: must not contain NUL characters or unpaired"
            " surrogates"
        ),
    }

    answers = {query: client.get(f"/api/tasks?{query}") for query in cases}

    assert {q: (r.status_code, r.json()) for q, r in answers.items()} == {
        q: (422, {"detail": detail}) for q, detail in cases.items()
    }


def _metrics(task_id: str, turns: int, cost: str | None) -> TaskMetrics:
    return TaskMetrics(
        task_id=task_id,
        turns_per_task=turns,
        tokens_per_task=turns * 100,
        input_tokens=turns * 90,
        output_tokens=turns * 10,
        cost_per_task=None if cost is None else Decimal(cost),
        unpriced_calls=0 if cost is not None else 1,
        duration_seconds=1.5 * turns,
        tool_calls=turns,
        runs=1,
    )


def test_metrics_rows_name_the_last_run_of_each_task(client: TestClient, served: Taskline) -> None:
    store = served.store
    reworked, unrun, once = (served.create_task(name).id for name in ("Reworked", "Unrun", "Once"))
    started = utcnow()
    for number, (agent, model) in enumerate(
        [("coder", "openai:first"), ("reviewer", "anthropic:second")], start=1
    ):
        store.start_run(
            Run(task_id=reworked, number=number, trigger="first" if number == 1 else "rework",
                agent=agent, model=model, started_at=started + timedelta(seconds=number))
        )  # fmt: skip
    store.start_run(Run(task_id=once, number=1, trigger="first", agent="coder", model="m:1"))
    for task_id, turns, cost in ((reworked, 4, "0.004"), (unrun, 0, "0"), (once, 2, None)):
        store.save_metrics(_metrics(task_id, turns, cost))

    rows = served.finished_rows()

    expected = {
        reworked: TaskRow(reworked, "reviewer", "anthropic:second", {"turns_per_task": 4,
                          "tokens_per_task": 400, "cost_per_task": 0.004, "duration_seconds": 6.0}),
        unrun: TaskRow(unrun, "-", "-", {"turns_per_task": 0, "tokens_per_task": 0,
                       "cost_per_task": 0.0, "duration_seconds": 0.0}),
        once: TaskRow(once, "coder", "m:1", {"turns_per_task": 2, "tokens_per_task": 200,
                      "cost_per_task": None, "duration_seconds": 3.0}),
    }  # fmt: skip
    assert [row for row, _at in rows] == [expected[t] for t in sorted(expected)]
    assert served.metrics_rows() == [row for row, _at in rows]
    stored = {m.task_id: m.updated_at for m in store.list_metrics()}
    assert [(row.task_id, at) for row, at in rows] == sorted(stored.items())
    # What the rows were before they were read in one query: one list of runs per task.
    one_by_one = []
    for metrics in store.list_metrics():
        runs = store.list_runs(metrics.task_id)
        last = (runs[-1].agent, runs[-1].model) if runs else ("-", "-")
        one_by_one.append((metrics.task_id, *last))
    assert [(row.task_id, row.agent, row.model) for row, _at in rows] == one_by_one
    answered = client.get("/api/metrics/tasks").json()
    assert [(r["task_id"], r["agent"], r["finished_at"]) for r in answered] == [
        (row.task_id, row.agent, at.isoformat()) for row, at in rows
    ]


def test_metrics_rows_come_a_page_at_a_time(client: TestClient, served: Taskline) -> None:
    made = [served.create_task(f"Task {n}").id for n in range(102)]
    for n, task_id in enumerate(made):
        served.store.save_metrics(_metrics(task_id, n % 7, None if n % 10 == 3 else "0.001"))

    def rows(**params: str | int) -> tuple[list[str], str]:
        answer = client.get("/api/metrics/tasks", params=params)
        return [row["task_id"] for row in answer.json()], answer.headers["x-total-count"]

    assert rows() == (made[:100], "102")  # the default page, like /api/tasks
    assert rows(limit=1000) == (made, "102")
    assert rows(limit=3, offset=98) == (made[98:101], "102")
    assert rows(limit=2, after=made[100]) == ([made[101]], "102")
    assert rows(order="newest", limit=3) == (made[::-1][:3], "102")
    assert rows(order="newest", limit=2, after=made[50], offset=1) == ([made[48], made[47]], "102")
    newest = client.get("/api/metrics/tasks", params={"order": "newest", "limit": 1}).json()
    stored = served.metrics(made[101])
    assert stored is not None
    assert newest == [
        {"task_id": made[101], "agent": "-", "model": "-",
         "finished_at": stored.updated_at.isoformat(), "turns_per_task": 3,
         "tokens_per_task": 300, "cost_per_task": 0.001, "duration_seconds": 4.5}
    ]  # fmt: skip


def test_a_metrics_page_past_the_limits_is_422(client: TestClient) -> None:
    cases = {
        "limit=1001": "invalid request: query.limit: Input should be less than or equal to 1000",
        "limit=0": "invalid request: query.limit: Input should be greater than or equal to 1",
        "offset=-1": "invalid request: query.offset: Input should be greater than or equal to 0",
        "order=oldest-first": "invalid request: query.order: Input should be 'oldest' or 'newest'",
    }

    answers = {query: client.get(f"/api/metrics/tasks?{query}") for query in cases}

    assert {q: (r.status_code, r.json()) for q, r in answers.items()} == {
        q: (422, {"detail": detail}) for q, detail in cases.items()
    }
