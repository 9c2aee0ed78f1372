"""Schemathesis sends generated requests, valid and invalid, to every operation of the OpenAPI
schema: no answer is a 500, and every answer matches the schema (status, content type, body).
A request the schema allows may still be refused (422) by the library's own checks, such as a
blank title or an unknown tool, so schemathesis's `positive_data_acceptance` is left out.

Half the requests to a task's endpoints name a task that exists, so they get past the 404.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import positive_data_acceptance

from taskline import Taskline
from tests.api.helpers import AUTH

EXAMPLES_PER_OPERATION = 10


Operation = APIOperation[Any, Any, Any, Any]


def fuzz(strategy: st.SearchStrategy[Case[Any]]) -> None:
    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Case[Any]) -> None:
        case.call_and_validate(headers=AUTH, excluded_checks=[positive_data_acceptance])

    check()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_request_makes_the_server_fail(
    app: FastAPI, served: Taskline, mode: GenerationMode
) -> None:
    task = served.create_task("Fuzzed", human_review=True)
    served.assign(task.id, "coder")
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)

    operations = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]

    assert len(operations) == 26
    for operation in operations:
        if mode is GenerationMode.NEGATIVE and not can_be_invalid(operation):
            continue
        strategies = [operation.as_strategy(mode, headers=AUTH)]
        if "{task_id}" in operation.path and not (
            # The task may never end: its stream would go on for max_seconds.
            operation.path.endswith("/stream") and mode is GenerationMode.NEGATIVE
        ):
            query = {"max_seconds": 0.3} if operation.path.endswith("/stream") else None
            existing = {"task_id": task.id}
            strategies.append(
                operation.as_strategy(mode, headers=AUTH, path_parameters=existing, query=query)
            )
        fuzz(st.one_of(strategies))


def can_be_invalid(operation: Operation) -> bool:
    """Whether a request to `operation` can be made invalid: any text is a valid path id."""
    return bool(operation.body) or bool(operation.query)
