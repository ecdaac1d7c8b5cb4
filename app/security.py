"""Security headers on every response (a strict CSP: no inline scripts).

Two places add :data:`HEADERS`, and each covers what the other cannot see:

- :class:`SecurityHeadersMiddleware`, the app's one security layer. ``create_app()``
  puts it outside everything FastAPI builds (see ``ConvLabAPI`` in :mod:`app.main`), so
  it also covers the answers FastAPI's own outer layers give: the 500 page of Starlette's
  ``ServerErrorMiddleware`` and the 413 of its body limiter.
- :func:`app.protocol.json_error`, for the refusals ``convlab serve``'s HTTP protocol sends
  before a request reaches the app at all (400 unparseable, 408 too slow, 431 head too
  large, 503 too many requests in progress): the app never sees those requests.
"""

from __future__ import annotations

from starlette.types import Message, Scope, Send

from app.asgi import SendFilter

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        # Swagger UI and d3 set element styles at run time.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class SecurityHeadersMiddleware(SendFilter):
    """Adds each of :data:`HEADERS` a response does not already set (pure ASGI)."""

    def wrap_send(self, scope: Scope, send: Send) -> Send:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                existing = {k.lower() for k, _ in headers}
                message = {**message, "headers": headers + [
                    (k, v) for k, v in HEADERS if k not in existing]}
            await send(message)

        return send_with_headers
