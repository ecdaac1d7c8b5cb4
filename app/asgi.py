"""The one shape of ConvLab's own ASGI layers: pass HTTP requests on, with ``send`` wrapped.

Pure ASGI (no ``BaseHTTPMiddleware``: it would buffer streaming bodies). A layer says only
what its wrapped ``send`` does (:meth:`SendFilter.wrap_send`); used by
:class:`app.security.SecurityHeadersMiddleware` and :class:`app.errors.TooLargeAsJson`.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["SendFilter"]


class SendFilter:
    """Calls ``app`` with ``send`` wrapped by :meth:`wrap_send` for HTTP; other scopes pass.

    ``wrap_send`` is called once per request, so the wrapper may keep state for the one
    response it sees (e.g. "this response's body is being replaced").
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, self.wrap_send(scope, send))

    def wrap_send(self, scope: Scope, send: Send) -> Send:
        """The ``send`` the wrapped app gets for one HTTP request (``scope``)."""
        raise NotImplementedError
