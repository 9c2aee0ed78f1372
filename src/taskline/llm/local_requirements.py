"""What the local model's runtime needs from the machine, checked before it is loaded.

xllamacpp's wheel is llama.cpp built ahead of time: on x86-64 it uses AVX2, and
it links the GNU OpenMP runtime (`libgomp.so.1`, Debian's `libgomp1`). A CPU
without AVX2 would die of an illegal instruction, which no `except` can catch,
and a missing library would fail with a loader error naming a file the user
never heard of, so both are checked first and said in one line.
"""

from __future__ import annotations

import ctypes
import importlib.util
import platform
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from taskline.errors import ModelReferenceError

RUNTIME_MODULE = "xllamacpp"
OPENMP_LIBRARY = "libgomp.so.1"
REMOTE_HINT = "give the agent a remote model instead, e.g. openai:gpt-4o-mini"


@dataclass(frozen=True)
class Machine:
    """The facts the check reads; the defaults read this machine."""

    system: str
    """`platform.system()`: Linux, Darwin, Windows."""
    architecture: str
    """`platform.machine()`: x86_64, aarch64, arm64, …"""
    cpu_flags: frozenset[str]
    """The CPU's feature flags from /proc/cpuinfo (Linux only; empty elsewhere)."""
    has_runtime: bool
    """Whether the `xllamacpp` package is installed."""
    load_library: Callable[[str], object]
    """Loads a shared library by name, raising OSError when it cannot."""

    @classmethod
    def this_one(cls) -> Machine:
        return cls(
            system=platform.system(),
            architecture=platform.machine(),
            cpu_flags=_cpu_flags(Path("/proc/cpuinfo")),
            has_runtime=importlib.util.find_spec(RUNTIME_MODULE) is not None,
            load_library=ctypes.CDLL,
        )


def missing_requirement(machine: Machine) -> str | None:
    """What this machine lacks for the local model, in one line, or None."""
    if not machine.has_runtime:
        return "the llama.cpp runtime is not installed: pip install 'taskline[local]'"
    if machine.architecture.lower() in ("x86_64", "amd64") and machine.system == "Linux":
        if "avx2" not in machine.cpu_flags:
            return f"this CPU has no AVX2, which the prebuilt llama.cpp needs; {REMOTE_HINT}"
    if machine.system == "Linux":
        try:
            machine.load_library(OPENMP_LIBRARY)
        except OSError:
            return (
                f"the system library {OPENMP_LIBRARY} is missing (Debian and Ubuntu:"
                f" apt-get install libgomp1; Fedora: dnf install libgomp); or {REMOTE_HINT}"
            )
    return None


def check_machine(ref: str = "local:smollm2", machine: Machine | None = None) -> None:
    """Raise `ModelReferenceError` when the local model cannot run here."""
    problem = missing_requirement(machine or Machine.this_one())
    if problem is not None:
        raise ModelReferenceError(ref, problem)


def _cpu_flags(cpuinfo: Path) -> frozenset[str]:
    try:
        text = cpuinfo.read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return frozenset(value.split())
    return frozenset()
