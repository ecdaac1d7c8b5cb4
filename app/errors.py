"""One error shape for the whole API: ``{"detail": "<a sentence a student understands>"}``."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.types import Message, Scope, Send

from app.asgi import SendFilter

log = logging.getLogger("convlab")

#: Starlette's multipart parser's messages, prefixed (or replaced) with a sentence
#: that says what to do.
_FORM_HINTS = {
    "Too many files": "The form has more files than this endpoint takes.",
    "Too many fields": "The form has more fields than this endpoint takes.",
    "Part exceeded maximum size": "A form field is too long.",
    "Field exceeded maximum size": "A form field is too long.",
}
_FORM_BROKEN = ("Missing boundary", "Invalid multipart", "The Content-Disposition")


class ErrorBody(BaseModel):
    """Every error response: one sentence that says what is wrong and what to send instead."""

    detail: str = Field(description="a sentence a student understands")


class FieldError(BaseModel):
    loc: list[str | int] = Field(description="where: 'body', 'query' or 'path', then the field")
    msg: str
    type: str = Field(description="pydantic's error type, e.g. 'missing', 'greater_than_equal'")


class ValidationErrorBody(ErrorBody):
    """422: ``detail`` sums up; ``errors`` lists the fields when the request failed validation
    (absent for problems found after it: an empty or corrupt file, a filter larger than
    its padded input)."""

    errors: list[FieldError] | None = Field(None, description="at most 20, in request order")
    formula: str | None = Field(None, description="a layer whose filter fits nowhere: the "
                                "output-size sum with its numbers, e.g. (6 - 7 + 2*0)/1 + 1 = 0")


#: What each error status means in this API, as /docs shows it.
ERROR_MEANINGS = {
    400: "The body could not be read: not UTF-8 text, JSON nested too deeply, or not the "
         "multipart form this endpoint takes.",
    403: "That is one of the server's own models; only uploaded models can be deleted.",
    404: "No model, sample or architecture has that name; the list endpoints name them.",
    410: "That run of the model is no longer kept on this server: run /inspect again and "
         "use the run id it answers.",
    413: "The body, the file, or the image's pixel count is over this endpoint's limit "
         "(the message names it).",
    415: "The file is not an image format ConvLab accepts: PNG, JPEG, WebP, GIF or BMP "
         "(read from its bytes, not its name).",
    422: "The body is not valid JSON, or a value is missing, out of range, or does not fit "
         "the others.",
    409: "The training run is busy with another request, or has reached its step or size "
         "limit (the message says which).",
    429: "Your uploaded models or training runs are over the cap for one browser or one "
         "network address, or your browser's runs have too many step requests in progress "
         "(the message says which).",
    507: "The store of uploaded models or training runs is full; nothing in use is evicted "
         "to make room.",
    503: "The server is busy with other heavy requests, or still loading a data set for the "
         "first time; retry after `Retry-After` seconds.",
}


def error_responses(*codes: int) -> dict[int | str, dict]:
    """``responses=`` entries for these statuses, with the body models they really send."""
    return {
        code: {"model": ValidationErrorBody if code == 422 else ErrorBody,
               "description": ERROR_MEANINGS[code]}
        for code in codes
    }


def _dependants(dependant: Dependant) -> list[Dependant]:
    """The route's dependant and all its sub-dependencies (a ``{name}`` is often read by one)."""
    found = [dependant]
    for sub in dependant.dependencies:
        found += _dependants(sub)
    return found


def document_errors(router: APIRouter, *, busy_dependency: Callable[..., Any]) -> None:
    """List in the OpenAPI schema the error statuses each of the router's routes can
    answer, from the route's shape; call it before ``include_router``.

    A body can be unreadable (400), too large (413) or invalid (422); query and path
    values can be invalid (422); a path's ``{name}`` is looked up in a table (404); a
    route behind ``busy_dependency`` (the heavy-work gate) can answer 503. Statuses a
    route declares itself (415 for image uploads) are kept. This replaces FastAPI's
    default 422 entry, whose ``detail`` is a list: ConvLab's is a sentence.
    """
    for route in router.routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        deps = _dependants(route.dependant)
        codes: set[int] = set()
        if route.body_field is not None:
            codes |= {400, 413, 422}
        if any(d.query_params or d.path_params or d.header_params or d.cookie_params
               for d in deps):
            codes.add(422)
        if any(d.path_params for d in deps):
            codes.add(404)
        if any(d.call is busy_dependency for d in deps):
            codes.add(503)
        route.responses = {**error_responses(*sorted(codes)), **route.responses}


class ApiError(Exception):
    """An error with an HTTP status and a message meant for the person using the page."""

    def __init__(self, status_code: int, detail: str, headers: dict[str, str] | None = None,
                 extra: dict[str, str] | None = None):
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.headers = headers
        self.extra = extra  # more fields for the page beside ``detail`` (e.g. ``formula``)


#: Python type names as a student reads them, for "<class 'str'>" in a library's message.
_TYPE_WORDS = {"str": "text", "int": "a whole number", "float": "a number", "bytes": "bytes",
               "list": "a list", "dict": "an object", "bool": "true or false", "NoneType": "null"}
#: Internals that library messages carry and a student must not see: onnxruntime's
#: "[ONNXRuntimeError] : 1 : FAIL :" prefix; source paths with a line number, and the C++
#: function after them; Python class reprs.
_INTERNALS: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    (re.compile(r"(?:Value error, )?Expected UploadFile, received: .*"), "expected a file, got a text field"),
    (re.compile(r"\[ONNXRuntimeError\]\s*:\s*\d+\s*:\s*\w+\s*:\s*"), ""),
    (re.compile(r"(?:(?:[A-Za-z]:)?(?:[\w.+-]*[/\\])+[\w.+-]+\.(?:pyx?|h|hh|hpp|c|cc|cpp|cxx|cu)"
                r"(?::\d+)?|[\w.+-]+\.(?:pyx?|h|hh|hpp|c|cc|cpp|cxx|cu):\d+)"
                r"(?:\s+(?:[\w~]+::)+[\w~<>]+\([^()]*\)(?:\s*const)?)?\s*"), ""),
    (re.compile(r"<class '(?:[\w.]+\.)?(\w+)'>"), lambda m: _TYPE_WORDS.get(m[1], "another kind of value")),
    (re.compile(r"<[\w.]+ object at 0x[0-9a-fA-F]+>"), "an object"),
]


def public_text(text: str) -> str:
    """``text`` without the internals a library's message may carry (source paths,
    class names); every error sentence passes through it before it is sent."""
    for pattern, repl in _INTERNALS:
        text = pattern.sub(repl, text)
    return text


def _describe(err: dict) -> str:
    # pydantic names each member of a union in ``loc`` ("constrained-int",
    # "list[constrained-int]"): its own words, not a field a student wrote.
    loc = [str(p) for p in err.get("loc", ())
           if p not in ("body", "query", "path") and not {"-", "["} & set(str(p))]
    where = ".".join(loc) if loc else "request body"
    msg = str(err.get("msg", "is invalid"))
    if "Expected UploadFile" in msg:
        return (f"{where}: expected a file, got a text field; send the file itself (FormData "
                f"with a File in a browser, curl -F '{where}=@image.png').")
    if err.get("type") == "json_invalid":
        return "The request body is not valid JSON (NaN and Infinity are not allowed)."
    if tuple(err.get("loc", ())) == ("body",):
        if err.get("type") == "missing":
            return "The request body is empty; this endpoint needs a JSON object."
        if err.get("type") in ("model_attributes_type", "dict_type", "model_type"):
            return ("The request body must be a JSON object, sent with "
                    "Content-Type: application/json.")
    return f"{where}: {public_text(msg)}"


def megabytes(n: float) -> str:
    """A size for people, in decimal units (1 MB = 1,000,000 bytes, 1 kB = 1,000 bytes):
    ``megabytes(10 * 2**20)`` is "10.5 MB". Every size a message shows goes through it."""
    if n >= 1e6:
        return f"{n / 1e6:,.1f} MB"
    return f"{n / 1e3:.0f} kB" if n >= 1e3 else f"{n:.0f} bytes"


_mb = megabytes


def too_large(size: int | None, limit: int | None) -> str:
    """The 413 sentence: how large the body is (when known) and this endpoint's limit."""
    sent = f" ({_mb(size)})" if size else ""
    cap = f"; this endpoint accepts at most {_mb(limit)}" if limit is not None else ""
    return f"The request body{sent} is too large{cap}."


def _parse_error(exc: StarletteHTTPException) -> str:
    """FastAPI's generic 400 for a body json.loads could not read, said precisely."""
    cause = exc.__cause__
    if isinstance(cause, RecursionError):
        return ("The JSON body is nested too deeply to read; ConvLab's requests nest at "
                "most a few levels.")
    if isinstance(cause, UnicodeDecodeError):
        return "The request body is not UTF-8 text; send JSON encoded as UTF-8."
    return "The request body could not be read as JSON."


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class TooLargeAsJson(SendFilter):
    """A layer outside FastAPI's: its body limiter's 413 in the API's shape.

    FastAPI's body limiter sits outside all user middleware and exception handlers;
    when a request declares a Content-Length above the limit it answers a bare
    ``text/plain`` "Content Too Large" (no ``detail``). This layer rewrites that one
    response into ``{"detail": ...}`` naming the limit. ``create_app()`` wraps what
    FastAPI builds in it (``ConvLabAPI.build_middleware_stack``), inside the security
    headers' middleware.
    """

    def wrap_send(self, scope: Scope, send: Send) -> Send:
        rewriting = False

        async def shell_send(message: Message) -> None:
            nonlocal rewriting
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                kinds = {k.lower(): v for k, v in headers}
                if message["status"] == 413 and kinds.get(b"content-type", b"").startswith(b"text/plain"):
                    rewriting = True
                    body = json.dumps({"detail": too_large(
                        _content_length(scope), scope.get(MAX_BODY_SIZE_SCOPE_KEY))}).encode()
                    headers = [(b"content-type", b"application/json"),
                               (b"content-length", str(len(body)).encode())]
                    await send({**message, "headers": headers})
                    await send({"type": "http.response.body", "body": body, "more_body": False})
                    return
            elif rewriting:
                return  # the plain-text body is replaced by the JSON one above
            await send(message)

        return shell_send


def install_error_handlers(app: FastAPI) -> None:
    """Every error as ``{"detail": "<sentence>"}`` (422s also list the fields)."""
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        extra = {k: public_text(v) for k, v in (exc.extra or {}).items() if k != "detail"}
        return JSONResponse({"detail": public_text(exc.detail), **extra}, exc.status_code,
                            headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        summary = "; ".join(dict.fromkeys(_describe(e) for e in errors[:5]))
        if len(errors) > 5:
            summary += f"; and {len(errors) - 5} more problems"
        slim = [
            {"loc": list(e.get("loc", ())), "msg": public_text(str(e.get("msg"))), "type": e.get("type")}
            for e in errors[:20]
        ]
        return JSONResponse({"detail": summary, "errors": slim}, 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 413:
            detail = too_large(None, request.scope.get(MAX_BODY_SIZE_SCOPE_KEY))
        elif exc.status_code == 404 and detail == "Not Found":
            detail = f"There is nothing at {request.url.path[:200]}; the API is described at /docs."
        elif exc.status_code == 405 and detail == "Method Not Allowed":
            detail = f"{request.method} is not allowed on {request.url.path[:200]}."
        elif exc.status_code == 400 and detail == "There was an error parsing the body":
            detail = _parse_error(exc)
        elif exc.status_code == 400 and detail.startswith(_FORM_BROKEN):
            detail = ("The upload is not valid multipart/form-data; send the file as a form "
                      "field (e.g. FormData in a browser, curl -F).")
        elif exc.status_code == 400:
            hint = next((h for k, h in _FORM_HINTS.items() if detail.startswith(k)), None)
            detail = f"{hint} {detail}" if hint else detail
        return JSONResponse({"detail": public_text(detail)}, exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "Internal error; the server logged it."}, 500)
