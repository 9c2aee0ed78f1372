"""The public API is `taskline.__all__`: whatever `Taskline` takes, returns or raises is in it."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import sys
import typing
from collections.abc import Callable, Iterator
from typing import Any

import taskline
import taskline.errors
from taskline import Taskline

# `Taskline` and the classes of taskline it is made of (the execution part is its own
# module), and the modules they are written in.
FACADE = [cls for cls in Taskline.__mro__ if cls.__module__.startswith("taskline")]
MODULES = list(dict.fromkeys(sys.modules[cls.__module__] for cls in FACADE))


def public_methods() -> Iterator[tuple[str, Callable[..., Any]]]:
    """`Taskline`'s constructor, methods, class methods and properties, by name."""
    seen: set[str] = set()
    for name, member in (item for cls in FACADE for item in vars(cls).items()):
        if (name.startswith("_") and name != "__init__") or name in seen:
            continue
        seen.add(name)
        if isinstance(member, property) and member.fget is not None:
            yield name, member.fget
        elif isinstance(member, classmethod | staticmethod):
            yield name, member.__func__
        elif inspect.isfunction(member):
            yield name, member


def _type_checking_names() -> dict[str, Any]:
    # What the facade's modules import under TYPE_CHECKING, so that its annotations resolve.
    names = {}
    trees = [ast.parse(inspect.getsource(module)) for module in MODULES]
    for node in (node for tree in trees for node in ast.walk(tree)):
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom)
                module = importlib.import_module(statement.module or "")
                for alias in statement.names:
                    names[alias.asname or alias.name] = getattr(module, alias.name)
    return names


def named_types(hint: Any) -> Iterator[type]:
    """The classes of taskline a type hint names, through unions, containers and callables."""
    if isinstance(hint, type) and hint.__module__.startswith("taskline"):
        yield hint
    origin = typing.get_origin(hint)
    if isinstance(origin, type) and origin.__module__.startswith("taskline"):
        yield origin
    for argument in typing.get_args(hint):
        for inner in argument if isinstance(argument, list) else [argument]:
            yield from named_types(inner)


def annotated_types() -> dict[str, set[str]]:
    """Each taskline class `Taskline`'s annotations name, with the methods that name it."""
    namespace: dict[str, Any] = {}
    for module in reversed(MODULES):  # Taskline's own module wins a clash
        namespace |= vars(module)
    namespace |= _type_checking_names()
    found: dict[str, set[str]] = {}
    for method, function in public_methods():
        for hint in typing.get_type_hints(function, globalns=namespace).values():
            for cls in named_types(hint):
                found.setdefault(cls.__name__, set()).add(method)
    return found


def raised_errors() -> dict[str, set[str]]:
    """Each error the facade's modules raise, or a docstring of `Taskline` names, with where."""
    found: dict[str, set[str]] = {}
    for module in MODULES:
        where = (module.__file__ or "").rpartition("/")[2]
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            if isinstance(node, ast.Raise) and node.exc is not None:
                call = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                if isinstance(call, ast.Name):
                    found.setdefault(call.id, set()).add(f"raised at {where}:{node.lineno}")
    documented = [("Taskline", Taskline.__doc__ or "")]
    documented += [(name, function.__doc__ or "") for name, function in public_methods()]
    for where, doc in documented:
        for name in re.findall(r"\b[A-Z]\w*Error\b", doc):
            found.setdefault(name, set()).add(f"named by {where}'s docstring")
    return found


def error_tree() -> set[str]:
    """Every error class of taskline.errors: what taskline raises on purpose."""
    return {
        name
        for name, value in vars(taskline.errors).items()
        if isinstance(value, type) and issubclass(value, taskline.errors.TasklineError)
    }


def test_what_taskline_takes_and_returns_is_public() -> None:
    missing = {
        name: sorted(methods)
        for name, methods in annotated_types().items()
        if name not in taskline.__all__ or getattr(taskline, name, None) is None
    }
    assert missing == {}


def test_what_taskline_raises_is_public() -> None:
    found = raised_errors()
    assert set(found) <= error_tree(), "raised but not in taskline.errors"
    missing = {name: sorted(found[name]) for name in found if name not in taskline.__all__}
    assert missing == {}
    assert sorted(error_tree() - set(taskline.__all__)) == []


def test_every_name_in_all_resolves() -> None:
    assert len(set(taskline.__all__)) == len(taskline.__all__)
    unresolved = [name for name in taskline.__all__ if not hasattr(taskline, name)]
    assert unresolved == []
    namespace: dict[str, Any] = {}
    exec(f"from taskline import {', '.join(taskline.__all__)}", namespace)
    assert all(namespace[name] is getattr(taskline, name) for name in taskline.__all__)


def test_the_checks_see_returns_parameters_and_errors() -> None:
    types = annotated_types()
    assert types["Task"] >= {"create_task", "assign", "get_task"}
    assert types["ServerReport"] == {"mcp_servers"}
    assert types["Applied"] == {"apply_copy"}  # a class of taskline.engine, not of the root
    errors = raised_errors()
    assert "named by Taskline's docstring" in errors["IllegalTransitionError"]
    assert any(where.startswith("raised at") for where in errors["AmbiguousIdError"])
