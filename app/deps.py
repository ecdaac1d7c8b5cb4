"""Typed dependencies shared by the routers: every ``Depends`` lives here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request

from app.config import Settings
from app.memory import trim_freed_memory
from app.services.learn import LearnRuns
from app.services.model import Model
from app.services.modelstore import ModelStore
from app.services.runs import RunStore


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def heavy_slot(request: Request) -> AsyncIterator[None]:
    """Hold one slot of the heavy-work gate for the duration of the request (``async``:
    the wait for a slot must not hold a worker thread; see app/services/gate.py). The last
    heavy request to finish gives the freed memory back to the system (app/memory.py)."""
    gate = request.app.state.gate
    try:
        async with gate.slot():
            yield
    finally:
        if gate.free == gate.slots:
            trim_freed_memory()


def get_store(request: Request) -> ModelStore:
    return request.app.state.models


def get_runs(request: Request) -> RunStore:
    return request.app.state.runs


def get_learn(request: Request) -> LearnRuns:
    return request.app.state.learn


SettingsDep = Annotated[Settings, Depends(get_settings)]
# scope="function": the slot is released (and freed memory trimmed) when the endpoint
# returns, before the answer is sent, so a client that reads the server's memory after
# its answer sees the trim done.
HeavyDep = Annotated[None, Depends(heavy_slot, scope="function")]
StoreDep = Annotated[ModelStore, Depends(get_store)]
RunsDep = Annotated[RunStore, Depends(get_runs)]
LearnDep = Annotated[LearnRuns, Depends(get_learn)]


def get_model(name: str, store: StoreDep) -> Model:
    """The model called ``name``: a shipped one, or an upload by its handle (404 if none)."""
    return store.get(name)


ModelDep = Annotated[Model, Depends(get_model)]
