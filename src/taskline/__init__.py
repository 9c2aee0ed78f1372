"""taskline: run AI agents on tasks through an enforced, persisted and measured lifecycle."""

from taskline.errors import (
    AlreadyExistsError,
    ConfigError,
    ConflictError,
    DependenciesNotMetError,
    IllegalTransitionError,
    InvalidValueError,
    NotFoundError,
    StoreError,
    TasklineError,
)
from taskline.lifecycle import TRANSITIONS, Status
from taskline.models import Agent, Task, TaskEvent, Transition
from taskline.protocols import Store
from taskline.service import Taskline
from taskline.version import __version__ as __version__

__all__ = [
    "TRANSITIONS",
    "Agent",
    "AlreadyExistsError",
    "ConfigError",
    "ConflictError",
    "DependenciesNotMetError",
    "IllegalTransitionError",
    "InvalidValueError",
    "NotFoundError",
    "Status",
    "Store",
    "StoreError",
    "Task",
    "TaskEvent",
    "Taskline",
    "TasklineError",
    "Transition",
]
