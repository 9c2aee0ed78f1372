"""The dashboard in a real browser (Debian's Chromium, headless) against a real server:
add an agent, create and run a task, watch it live until it waits for review, approve it,
and see it COMPLETED with its metrics. Screenshots go to the test's tmp directory."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from taskline import Taskline
from taskline.api import create_app
from taskline.api.views import Lifecycle
from taskline.llm.types import Usage
from taskline.models import NewTask
from taskline.protocols import Model
from taskline.records import TaskMetrics
from tests.api.helpers import TOKEN, PacedModel, call, greeting
from tests.api.server import serving

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
EXPECT_MS = 60_000


@pytest.fixture
def page() -> Iterator[Page]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    # What the page shows may take a while on a machine busy with other tests: every
    # expectation waits up to a minute (Playwright's default is 5 s), returning as soon as
    # it holds.
    expect.set_options(timeout=EXPECT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield browser.new_page(viewport={"width": 1360, "height": 900})
        finally:
            browser.close()


def finished_tasks(tl: Taskline) -> None:
    """A few tasks finished earlier, by two agents at different costs, for the metrics page."""
    for n, (agent, cost) in enumerate(
        [("coder", "0.002"), ("reviewer", "0.004"), ("coder", "0.003")]
    ):
        usage = Usage(input_tokens=300 * (n + 1), output_tokens=40)
        script = [
            call("write_file", path="note.txt", content=f"note {n}\n", usage=usage, cost_usd=cost),
            call("submit_work", summary=f"Wrote note {n}.", usage=usage, cost_usd=cost),
        ]
        tl.model_factory = lambda _ref, script=script: PacedModel(script, 0)
        task = tl.create_task(f"Earlier task {n}")
        tl.assign(task.id, agent)
        # Playwright's sync API runs an event loop in this thread; asyncio.run needs its own.
        with ThreadPoolExecutor(1) as thread:
            thread.submit(tl.run_task, task.id).result()


def test_create_run_review_and_measure_a_task(served: Taskline, page: Page) -> None:
    finished_tasks(served)

    let_it_submit = threading.Event()

    def factory(_ref: str) -> Model:
        return PacedModel(greeting(), delay_seconds=0, last_answer_after=let_it_submit)

    served.model_factory = factory
    # Kept after the run (build/ is ignored by git), for a person to look at.
    shots = Path(__file__).resolve().parents[2] / "build" / "screenshots"
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    with serving(create_app(served, token=TOKEN)) as url:
        page.goto(url)
        page.fill("#token", TOKEN)
        page.click("#login button")
        expect(page.locator(".lane[data-status=COMPLETED] .card")).to_have_count(3)
        expect(page.locator(".filters > span.muted")).to_have_text("3 of 3 tasks")

        page.click("nav >> text=New")
        agent_form = page.locator("#agent-form")
        agent_form.locator("[name=name]").fill("writer")
        agent_form.locator("[name=model]").fill("scripted:greeting")
        agent_form.locator("[name=role]").fill("writes greetings")
        agent_form.locator("button[type=submit]").click()
        expect(page.locator("#task-form [name=agent] option[value=writer]")).to_have_count(1)

        form = page.locator("#task-form")
        form.locator("[name=title]").fill("Write a greeting")
        form.locator("[name=criteria]").fill("hello.txt says hello")
        form.locator("[name=human_review]").check()
        form.locator("[name=agent]").select_option("writer")
        form.locator("button[type=submit]").click()

        # The run waits before its last answer until the page has shown it in progress.
        expect(page.locator(".live")).to_contain_text("turn")
        expect(page.locator("#status")).to_have_text("IN PROGRESS")
        page.screenshot(path=shots / "1-running.png", full_page=True)
        let_it_submit.set()
        expect(page.locator("#status")).to_have_text("IN REVIEW")
        expect(page.locator("#review")).to_be_visible()
        expect(page.locator(".live")).to_have_text("waiting for your review")
        page.locator("table.artifacts").get_by_role("button", name="hello.txt").click()
        expect(page.locator("pre.diff .add")).to_have_text(["+hello world\n"])
        page.screenshot(path=shots / "2-in-review.png", full_page=True)

        page.fill("#review textarea", "Looks good.")
        page.click("button.approve")
        expect(page.locator("#status")).to_have_text("COMPLETED")
        expect(page.locator("[data-metric=turns] .tile-value")).to_have_text("2")
        expect(page.locator("[data-metric=cost] .tile-value")).to_have_text("$0.002")
        expect(page.locator("#summary")).to_contain_text("Wrote hello.txt.")
        expect(page.locator(".timeline li")).to_have_count(5)
        page.screenshot(path=shots / "3-completed.png", full_page=True)

        page.click("nav >> text=Metrics")
        expect(page.locator(".tile-value").first).to_have_text("4")
        # 2 calls each: at $0.002, $0.004 and $0.003 earlier, then at $0.001 for the greeting
        expect(page.locator(".tile-value").nth(1)).to_have_text("$0.02")
        expect(page.locator("section.measure svg.chart")).to_have_count(16)
        page.screenshot(path=shots / "4-metrics.png", full_page=True)

        page.click("nav >> text=Board")
        expect(page.locator(".lane[data-status=COMPLETED] .card")).to_have_count(4)
        page.screenshot(path=shots / "5-board.png", full_page=True)

    assert errors == []
    assert sorted(p.name for p in shots.iterdir()) == [
        "1-running.png", "2-in-review.png", "3-completed.png", "4-metrics.png", "5-board.png",
    ]  # fmt: skip


def test_the_board_shows_the_newest_page_and_counts_all(served: Taskline, page: Page) -> None:
    made = [served.create_task(f"Task {n}").id for n in range(1002)]

    with serving(create_app(served, token=TOKEN)) as url:
        page.goto(url)
        page.fill("#token", TOKEN)
        page.click("#login button")
        lane = page.locator(".lane[data-status=CREATED]")
        expect(page.locator(".filters > span.muted")).to_have_text(
            "1000 of the newest 1000 tasks (1002 in all)"
        )
        expect(lane.locator("header .muted")).to_have_text("1000")
        expect(lane.locator(".card")).to_have_count(200)
        expect(lane.locator(".card").first).to_have_attribute("data-task", made[-1])
        expect(lane.locator("p.muted")).to_have_text("and 800 more")


def test_the_metrics_charts_draw_the_newest_and_the_figures_count_all(
    served: Taskline, page: Page
) -> None:
    for n in range(1002):
        task_id = served.create_task(f"Task {n}").id
        served.store.save_metrics(
            TaskMetrics(task_id=task_id, turns_per_task=1 + n % 3, tokens_per_task=100,
                        input_tokens=90, output_tokens=10, cost_per_task=Decimal("0.01"),
                        unpriced_calls=0, duration_seconds=1.5, tool_calls=1, runs=1)
        )  # fmt: skip

    with serving(create_app(served, token=TOKEN)) as url:
        page.goto(url)
        page.fill("#token", TOKEN)
        page.click("#login button")
        page.click("nav >> text=Metrics")
        tiles = page.locator(".tile-value")
        expect(tiles.first).to_have_text("1,002")
        expect(tiles.nth(1)).to_have_text("$10.02")  # all 1,002 at $0.01, not only the charted
        expect(page.locator("section[data-measure=cost_per_task] figcaption")).to_have_text(
            [
                "over time (by finish), the newest 1000 of 1002",
                "distribution, the newest 1000 of 1002",
                "by agent (mean, p90 tick)",
                "by model (mean, p90 tick)",
            ]
        )


def signed_in(page: Page, url: str) -> None:
    page.goto(url)
    page.fill("#token", TOKEN)
    page.click("#login button")


def test_the_form_asks_for_every_creatable_field(served: Taskline, page: Page) -> None:
    # The form is drawn from the API's schema of the body: a field added to NewTask is asked
    # for without a change to the dashboard; this fails if the form left one out.
    creatable = [field.alias or name for name, field in NewTask.model_fields.items()]

    with serving(create_app(served, token=TOKEN)) as url:
        signed_in(page, url)
        page.click("nav >> text=New")
        form = page.locator("#task-form")
        for name in creatable:
            expect(form.locator(f"[name={name}]")).to_have_count(1)
        form.locator("[name=title]").fill("Everything the form asks")
        form.locator("[name=criteria]").fill("one\ntwo")
        form.locator("[name=ignore]").fill("*.log")
        form.locator("[name=budget_tokens]").fill("5000")
        form.locator("[name=priority]").select_option("urgent")
        form.locator("[name=deadline]").fill("2030-01-02T03:04")
        form.locator("button[type=submit]").click()
        expect(page.locator("#status")).to_have_text("CREATED")

    (task,) = served.list_tasks()
    assert (task.title, task.acceptance_criteria, task.ignore, task.budget_tokens) == (
        "Everything the form asks", ("one", "two"), ("*.log",), 5000
    )  # fmt: skip
    assert (task.priority, task.type, task.max_rework, task.human_review) == (
        "urgent", "general", 2, False
    )  # fmt: skip
    assert task.deadline is not None
    assert task.deadline.year == 2030  # typed in the browser's own time zone


def test_the_dashboard_takes_the_lifecycle_from_the_api(served: Taskline, page: Page) -> None:
    # The page is served a lifecycle unlike taskline's: lanes, filters and buttons follow it,
    # which they could not if the dashboard kept a copy of the table.
    real = Lifecycle.current().model_dump(mode="json")
    statuses = real["statuses"][::-1]
    altered = {
        **real,
        "statuses": statuses,
        "priorities": real["priorities"][::-1],
        "moves": {**real["moves"], "CREATED": ["BLOCKED"]},
    }
    assert "CANCELLED" in real["moves"]["CREATED"]
    ended = set(real["ended"])
    lanes = [s for s in statuses if s not in ended] + [s for s in statuses if s in ended]
    task_id = served.create_task("Target").id
    page.route("**/api/lifecycle", lambda route: route.fulfill(json=altered))

    with serving(create_app(served, token=TOKEN)) as url:
        signed_in(page, url)
        expect(page.locator(".lane")).to_have_count(len(lanes))
        assert page.locator(".lane").evaluate_all("els => els.map((e) => e.dataset.status)") == (
            lanes
        )
        priority = page.locator(".filters label", has_text="priority").locator("option")
        expect(priority).to_have_text(["all", *real["priorities"]])

        page.goto(f"{url}#/task/{task_id}")
        expect(page.locator("#status")).to_have_text("CREATED")
        expect(page.locator(".actions button")).to_have_text(["Block"])
