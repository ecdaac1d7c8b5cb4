"""Typed dependencies shared by the routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request

from app.config import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def heavy_slot(request: Request) -> AsyncIterator[None]:
    """Hold one slot of the heavy-work gate for the duration of the request (``async``:
    the wait for a slot must not hold a worker thread; see app/services/gate.py)."""
    async with request.app.state.gate.slot():
        yield


SettingsDep = Annotated[Settings, Depends(get_settings)]
HeavyDep = Annotated[None, Depends(heavy_slot)]
