"""`/api/agents`: add and list agents, as `taskline agent add|list`."""

from __future__ import annotations

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from taskline.api.bodies import AgentBody
from taskline.api.deps import AgentName, Tl
from taskline.api.errors import NOT_FOUND, REFUSED
from taskline.models import Agent

router = APIRouter(prefix="/api/agents", tags=["agents"])


@router.get("", response_model=list[Agent])
def list_agents(tl: Tl) -> JSONResponse:
    """Every agent, by name."""
    return JSONResponse([agent.model_dump(mode="json") for agent in tl.list_agents()])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Agent, responses=REFUSED)
def add_agent(body: AgentBody, tl: Tl) -> JSONResponse:
    """Add an agent; 409 if the name is taken."""
    agent = tl.add_agent(
        body.name,
        model=body.model,
        role=body.role,
        instructions=body.instructions,
        skills=body.skills,
        tools=body.tools,
        budget_usd=body.budget_usd,
        budget_tokens=body.budget_tokens,
        mcp=body.mcp,
    )
    return JSONResponse(agent.model_dump(mode="json"), status_code=status.HTTP_201_CREATED)


@router.get("/{name}", response_model=Agent, responses=NOT_FOUND)
def get_agent(name: AgentName, tl: Tl) -> JSONResponse:
    """One agent."""
    return JSONResponse(tl.get_agent(name).model_dump(mode="json"))
