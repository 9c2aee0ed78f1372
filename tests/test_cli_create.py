"""`taskline task create` and `taskline run` have an option for every creatable field of a
task (`NewTask`), defaulting as the model does; tests/api/test_tasks.py checks that they
create what the API creates from the same values."""

from __future__ import annotations

from typing import Any

import pytest
import typer

from taskline.cli import app
from taskline.cli.tasks import CREATE_OPTIONS
from taskline.models import NewTask

CREATABLE = [field.alias or name for name, field in NewTask.model_fields.items()]


def command(*path: str) -> Any:
    """The click command Typer made for `taskline PATH...`."""
    found: Any = typer.main.get_command(app)
    for name in path:
        found = found.commands[name]
    return found


@pytest.mark.parametrize(
    ("path", "own"), [(("task", "create"), {"as_json"}), (("run",), {"agent"})]
)
def test_every_creatable_field_is_an_option(path: tuple[str, ...], own: set[str]) -> None:
    params = [param.name for param in command(*path).params]

    assert sorted(set(params) - own) == sorted(CREATABLE)
    assert sorted(CREATE_OPTIONS) == sorted(CREATABLE)


def test_options_default_as_the_model_does() -> None:
    fields = {field.alias or name: field for name, field in NewTask.model_fields.items()}
    for param in command("task", "create").params:
        if param.name in fields and not fields[param.name].is_required():
            default = fields[param.name].default
            assert param.default == (None if isinstance(default, list) else default), param.name
