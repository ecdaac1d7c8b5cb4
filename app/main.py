"""The application factory: ``create_app()`` builds ConvLab's FastAPI app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp

from app import __version__
from app.config import STATIC_DIR, Settings
from app.deps import heavy_slot
from app.errors import TooLargeAsJson, document_errors, install_error_handlers
from app.memory import return_freed_memory
from app.routers import architectures as architectures_router
from app.routers import basics, images, models, pages, registry
from app.routers import calculator as calculator_router
from app.routers import explain as explain_router
from app.routers import explain_data as explain_data_router
from app.routers import inspect as inspect_router
from app.routers import learn as learn_router
from app.routers import lessons as lessons_router
from app.routers import playground as playground_router
from app.routers import train as train_router
from app.security import SecurityHeadersMiddleware
from app.services.gate import HeavyGate
from app.services.learn import NS as LEARN_NS
from app.services.learn import LearnRuns
from app.services.learn_limits import LearnLimits
from app.services.modelstore import ModelStore
from app.services.runs import NS as RUNS_NS
from app.services.runs import SHARED_LIMITS as RUNS_LIMITS
from app.services.runs import RunStore, warm
from app.services.store_models import UserModels
from app.services.stores import open_store

log = logging.getLogger("convlab")

DESCRIPTION = """
ConvLab's API: the NumPy engine behind every number the pages show.

Tensors travel as `{"shape": [...], "data": [flat, row-major]}`. Errors come back
as `{"detail": "<a sentence that says what is wrong>"}` with a 4xx status.
"""


class ConvLabAPI(FastAPI):
    """FastAPI with two layers outside everything it builds, so that they see every answer:
    the security headers (:mod:`app.security`, the app's one security middleware) and the
    body limiter's 413 rewritten as ``{"detail": ...}`` (:class:`app.errors.TooLargeAsJson`).

    ``add_middleware`` would put them inside Starlette's ``ServerErrorMiddleware`` and
    FastAPI's body limiter, whose 500 and 413 would then go out without them; overriding
    the documented ``build_middleware_stack`` (as FastAPI itself does) puts them outside.
    """

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeadersMiddleware(TooLargeAsJson(super().build_middleware_stack()))


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        return_freed_memory()
        app.state.gate = HeavyGate(settings.heavy_concurrency, settings.heavy_queue_timeout_s)
        store = ModelStore(threads=settings.ort_threads)
        store.load_dir(settings.models_dir)
        warm(store.shipped.values())  # the first student's /inspect pays nothing extra
        learn = LearnLimits.from_env()
        shared = open_store(settings.store_url, settings.runtime_dir, settings.store_limits(),
                            spaces={LEARN_NS: learn.store_limits(), RUNS_NS: RUNS_LIMITS})
        store.user = UserModels(shared, threads=settings.ort_threads)
        app.state.models = store
        app.state.learn = LearnRuns(shared, settings.data_dir, learn)
        app.state.runs = RunStore(shared=shared)
        yield
        store.user.close()

    app = ConvLabAPI(
        title="ConvLab API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        max_body_size=settings.json_body_limit,
        form_limits={"max_fields": 4, "max_files": 1, "max_part_size": 64 * 1024},
    )
    install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (basics, images, inspect_router, explain_router, models, lessons_router,
                   playground_router, explain_data_router,
                   architectures_router, calculator_router, train_router, learn_router, registry,
                   pages):
        document_errors(module.router, busy_dependency=heavy_slot)
        app.include_router(module.router)
    return app
