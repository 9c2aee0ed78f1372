"""taskline: run AI agents on tasks through an enforced, persisted and measured lifecycle.

`__all__` is the public API: `Taskline`, every type its methods take and return,
and every error taskline raises on purpose (the tree in `taskline.errors`).
"""

from taskline.config import Config
from taskline.engine.apply import Applied
from taskline.engine.events import ProgressEvent
from taskline.engine.executor import Executor
from taskline.errors import (
    AlreadyExistsError,
    AmbiguousIdError,
    ConfigError,
    ConflictError,
    CopyError,
    DependenciesNotMetError,
    IllegalTransitionError,
    InvalidValueError,
    McpServerError,
    ModelReferenceError,
    NotFoundError,
    ProviderError,
    ResponseParseError,
    StoreError,
    TasklineError,
    WorkerProcessError,
    WorkspaceChangedError,
)
from taskline.lifecycle import TRANSITIONS, Status
from taskline.models import Agent, McpGrant, NewTask, Task, TaskEvent, Transition
from taskline.protocols import Model, Observer, Steps, Store, TaskWatch, Watch
from taskline.records import (
    Artifact,
    CostRecord,
    Review,
    Run,
    TaskDetail,
    TaskMetrics,
    ToolCallRecord,
    TraceContext,
    Turn,
    Worker,
)
from taskline.reports import TaskRow
from taskline.service import Taskline
from taskline.tools.mcp.report import ServerReport
from taskline.version import __version__ as __version__

__all__ = [
    "TRANSITIONS",
    "Agent",
    "AlreadyExistsError",
    "AmbiguousIdError",
    "Applied",
    "Artifact",
    "Config",
    "ConfigError",
    "ConflictError",
    "CopyError",
    "CostRecord",
    "DependenciesNotMetError",
    "Executor",
    "IllegalTransitionError",
    "InvalidValueError",
    "McpGrant",
    "McpServerError",
    "Model",
    "Observer",
    "ModelReferenceError",
    "NewTask",
    "NotFoundError",
    "ProgressEvent",
    "ProviderError",
    "ResponseParseError",
    "Review",
    "Run",
    "ServerReport",
    "Status",
    "Steps",
    "TaskWatch",
    "Store",
    "StoreError",
    "Task",
    "TaskDetail",
    "TaskEvent",
    "TaskMetrics",
    "TaskRow",
    "Taskline",
    "TasklineError",
    "ToolCallRecord",
    "TraceContext",
    "Transition",
    "Turn",
    "Watch",
    "Worker",
    "WorkerProcessError",
    "WorkspaceChangedError",
]
