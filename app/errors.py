"""One error shape for the whole API: ``{"detail": "<a sentence a student understands>"}``."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("convlab")


class ApiError(Exception):
    """An error with an HTTP status and a message meant for the person using the page."""

    def __init__(self, status_code: int, detail: str, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.headers = headers


def _describe(err: dict) -> str:
    loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
    where = ".".join(loc) if loc else "request body"
    msg = str(err.get("msg", "is invalid"))
    if err.get("type") == "json_invalid":
        return "The request body is not valid JSON (NaN and Infinity are not allowed)."
    return f"{where}: {msg}"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        summary = "; ".join(_describe(e) for e in errors[:5])
        if len(errors) > 5:
            summary += f"; and {len(errors) - 5} more problems"
        slim = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg")), "type": e.get("type")}
            for e in errors[:20]
        ]
        return JSONResponse({"detail": summary, "errors": slim}, 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 413:
            detail = "The request body is too large for this endpoint."
        return JSONResponse({"detail": detail}, exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "Internal error; the server logged it."}, 500)
