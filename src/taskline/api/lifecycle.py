"""`/api/lifecycle`: the statuses, the moves the lifecycle table allows and the priorities.

Clients draw their boards, filters and buttons from it instead of keeping a copy of
the table: the dashboard does.
"""

from __future__ import annotations

from fastapi import APIRouter

from taskline.api.views import Lifecycle

router = APIRouter(prefix="/api", tags=["tasks"])

_LIFECYCLE = Lifecycle.current()


@router.get("/lifecycle")
def lifecycle() -> Lifecycle:
    """Every status in order, the initial, terminal and ended ones, the allowed moves from
    each status, and the priorities, least urgent first."""
    return _LIFECYCLE
