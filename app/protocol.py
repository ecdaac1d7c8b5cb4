"""uvicorn's HTTP/1.1 connection (h11), with the limits a class-sized server needs.

uvicorn alone has no timeout for a request that is still arriving: a connection
that sends nothing, half a header or one byte of body a second is kept for ever,
and counts against ``--limit-concurrency`` like any other, so 200 idle sockets
lock every client out. Its own refusals are plain text without the security
headers, and a complete 100 KB header passes ``h11_max_incomplete_event_size``
(that bounds only a header still arriving). This subclass of its ``H11Protocol``
(``convlab serve`` selects it with ``http=``) adds:

- **Deadlines.** A request's head must be complete :data:`HEAD_TIMEOUT_S` after the
  connection opened or the previous response ended; its body must then arrive at
  :data:`MIN_BODY_RATE` bytes a second on average after :data:`BODY_GRACE_S`
  (time the server itself stops reading does not count). Otherwise ``408`` and the
  connection is closed (silently when nothing was sent: an idle keep-alive).
- **Idle connections do not lock anyone out.** Past ``limit_concurrency``
  connections, a new one closes the idle connections that waited longest (no
  request in progress); requests in progress past the limit get ``503`` with
  ``Retry-After``.
- **The API's shape everywhere.** Head over :data:`MAX_HEAD_BYTES`: ``431``;
  malformed request: ``400``; both ``{"detail": ...}`` with the security headers.
"""

from __future__ import annotations

import asyncio
import http
import json
from typing import Any

import h11
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from app.security import HEADERS

#: Request line plus headers, at most (nginx's default large_client_header_buffers is 32 KB).
MAX_HEAD_BYTES = 64 * 1024
#: Seconds for a whole request head to arrive.
HEAD_TIMEOUT_S = 5.0
#: A body must average this many bytes a second (a 10 MB upload: 10 minutes at most) ...
MIN_BODY_RATE = 16 * 1024
#: ... counted after this many seconds of grace.
BODY_GRACE_S = 5.0
#: How often a connection that is waiting for its client checks its deadline.
TICK_S = 0.5
#: After a refusal, bytes still arriving are read and dropped this long before the
#: connection closes: closing a socket with unread data sends a reset, and the
#: client's system may then drop the refusal before the client reads it.
LINGER_S = 1.0


def json_error(status: int, detail: str, *extra: tuple[bytes, bytes]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """(status, headers, body) of a ``{"detail": ...}`` refusal that closes the connection.

    It carries the security headers itself: these refusals are sent before the request
    reaches the app (by :class:`Guard`, in front of it, or written straight to the socket
    by :class:`ConvLabProtocol`), so the app's one security middleware
    (:mod:`app.security`) never sees them. Nothing else here adds them.
    """
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"connection", b"close"), *extra, *HEADERS]
    return status, headers, body


class Guard:
    """ASGI layer in front of the app: refuses a head over :data:`MAX_HEAD_BYTES` (431)
    and a request past the concurrency limit (503), in the API's shape."""

    def __init__(self, app: ASGIApp, tasks: set, limit: int | None) -> None:
        self.app, self.tasks, self.limit = app, tasks, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = None
        if scope["type"] == "http":
            size = len(scope["raw_path"]) + len(scope["query_string"]) + sum(
                len(k) + len(v) + 4 for k, v in scope["headers"])
            if size > MAX_HEAD_BYTES:
                refusal = json_error(431, f"The request's headers are {size / 1024:.0f} KB; at "
                                          f"most {MAX_HEAD_BYTES // 1024} KB are accepted.")
            elif self.limit is not None and len(self.tasks) > self.limit:
                refusal = json_error(503, "The server is answering as many requests as it can "
                                          "at once; try again in a moment.", (b"retry-after", b"1"))
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, headers, body = refusal
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class ConvLabProtocol(H11Protocol):
    """uvicorn's h11 connection with deadlines, idle-connection shedding and JSON refusals."""

    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        # uvicorn's own check answers plain text and counts idle connections: ours instead.
        self.max_connections, self.limit_concurrency = self.limit_concurrency, None
        self.app = Guard(self.app, self.tasks, self.max_connections)
        self.waiting_since = self.loop.time()  # since when we wait for the client
        self.head_bytes = 0  # bytes of the request head received so far
        self.body_bytes = 0
        self.body_clock = 0.0  # seconds the body has had to arrive (reading not paused)
        self.timer: asyncio.TimerHandle | None = None
        self.refused = False  # a refusal was sent: what still arrives is dropped

    # -------------------------------------------------------------- connections
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch()
        excess = len(self.connections) - (self.max_connections or len(self.connections))
        if excess > 0:
            idle = sorted((c for c in self.connections
                           if isinstance(c, ConvLabProtocol) and c is not self and c.idle()),
                          key=lambda c: c.waiting_since)
            for conn in idle[:excess]:
                conn.transport.close()

    def idle(self) -> bool:
        """No request in progress: between requests, or a head still arriving."""
        return self.cycle is None or self.cycle.response_complete

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        super().connection_lost(exc)

    # -------------------------------------------------------------- deadlines
    def data_received(self, data: bytes) -> None:
        if self.refused:
            return
        if self.conn.their_state is h11.IDLE:
            self.head_bytes += len(data)
        elif self.conn.their_state is h11.SEND_BODY:
            self.body_bytes += len(data)
        super().data_received(data)
        self._watch()

    def on_response_complete(self) -> None:
        self.waiting_since = self.loop.time()
        self.head_bytes = self.body_bytes = 0
        self.body_clock = 0.0
        super().on_response_complete()
        self._watch()

    def _watch(self) -> None:
        if self.timer is None and not self.transport.is_closing():
            self.timer = self.loop.call_later(TICK_S, self._tick)

    def _tick(self) -> None:
        """Every :data:`TICK_S` while the client owes us a head or a body: on time?"""
        self.timer = None
        if self.transport.is_closing():
            return
        state = self.conn.their_state
        if state is h11.IDLE and self.idle():
            if self.loop.time() - self.waiting_since < HEAD_TIMEOUT_S:
                self._watch()
            elif self.head_bytes:
                self._refuse(408, f"The request's headers did not arrive within "
                                  f"{HEAD_TIMEOUT_S:.0f} s.")
            else:
                self.transport.close()  # an idle keep-alive connection, or one never used
        elif state is h11.SEND_BODY:
            if not self.flow.read_paused:  # paused: the server, not the client, is slow
                self.body_clock += TICK_S
            if self.body_bytes < MIN_BODY_RATE * (self.body_clock - BODY_GRACE_S):
                self._refuse(408, f"The request body arrived too slowly: {self.body_bytes:,} bytes "
                                  f"in {self.body_clock:.0f} s; at least "
                                  f"{MIN_BODY_RATE // 1024} KB a second is needed.")
            else:
                self._watch()

    # -------------------------------------------------------------- refusals
    def _refuse(self, status: int, detail: str) -> None:
        """Answer ``{"detail": ...}`` with the security headers and close (only close
        when the app has begun a response on this connection)."""
        if self.cycle is not None and self.cycle.response_started and not self.cycle.response_complete:
            self.transport.close()
            return
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.response_started = True  # the app may not answer this request now
        status, headers, body = json_error(status, detail)
        lines = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}".encode()]
        lines += [k + b": " + v for k, v in headers]
        self.transport.write(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        self.refused = True
        if self.transport.can_write_eof():
            self.transport.write_eof()  # the client reads the refusal, then end of file
            self.flow.resume_reading()
            self.loop.call_later(LINGER_S, self.transport.close)
        else:
            self.transport.close()

    def send_400_response(self, msg: str) -> None:
        """h11 could not parse the request (uvicorn's plain-text 400, replaced)."""
        if self.head_bytes > MAX_HEAD_BYTES:
            self._refuse(431, f"The request's headers are over {MAX_HEAD_BYTES // 1024} KB, the "
                              "limit.")
        else:
            self._refuse(400, "The request is not valid HTTP/1.1.")
