"""The machine check that runs before the prebuilt llama.cpp is loaded."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from taskline.errors import ModelReferenceError
from taskline.llm.local_requirements import Machine, check_machine, missing_requirement

HINT = "give the agent a remote model instead, e.g. openai:gpt-4o-mini"


def _loads_everything(name: str) -> object:
    return name


def _loads_nothing(name: str) -> object:
    raise OSError(f"{name}: cannot open shared object file: No such file or directory")


CAPABLE = Machine(
    system="Linux",
    architecture="x86_64",
    cpu_flags=frozenset({"sse4_2", "avx", "avx2", "fma"}),
    has_runtime=True,
    load_library=_loads_everything,
)


def _machine(**facts: Any) -> Machine:
    return dataclasses.replace(CAPABLE, **facts)


@pytest.mark.parametrize(
    ("machine", "problem"),
    [
        (_machine(), None),
        (
            _machine(has_runtime=False),
            "the llama.cpp runtime is not installed: pip install 'taskline[local]'",
        ),
        (
            _machine(cpu_flags=frozenset({"sse4_2", "avx"})),
            f"this CPU has no AVX2, which the prebuilt llama.cpp needs; {HINT}",
        ),
        (
            _machine(load_library=_loads_nothing),
            "the system library libgomp.so.1 is missing (Debian and Ubuntu: apt-get install"
            f" libgomp1; Fedora: dnf install libgomp); or {HINT}",
        ),
        # AVX2 is an x86-64 matter; an ARM machine has no such flag and needs none
        (_machine(architecture="aarch64", cpu_flags=frozenset({"neon", "asimd"})), None),
        (_machine(system="Darwin", architecture="arm64", cpu_flags=frozenset()), None),
    ],
)
def test_what_a_machine_lacks(machine: Machine, problem: str | None) -> None:
    assert missing_requirement(machine) == problem


def test_a_lacking_machine_is_one_error_naming_the_model() -> None:
    with pytest.raises(ModelReferenceError) as caught:
        check_machine(machine=_machine(cpu_flags=frozenset()))

    assert str(caught.value) == (
        f"model 'local:smollm2': this CPU has no AVX2, which the prebuilt llama.cpp needs; {HINT}"
    )


def test_this_machine_reads_its_own_facts() -> None:
    machine = Machine.this_one()

    with open("/proc/cpuinfo") as cpuinfo:
        flags_line = next(line for line in cpuinfo if line.startswith("flags"))
    assert machine.cpu_flags == frozenset(flags_line.split(":", 1)[1].split())
    assert machine.system == "Linux"
