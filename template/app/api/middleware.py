"""ASGI middleware for every request: its id, security headers, its access-log line, and the
body-size limit. Pure ASGI classes, without BaseHTTPMiddleware's per-request overhead."""

import time

import structlog
from fastapi import HTTPException, status
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.problems import problem
from app.api.request_id import REQUEST_ID_HEADER, request_id_for
from app.core.logging import ACCESS_LOG

# On every response: no MIME sniffing, no Referer leaving the API, no framing (the docs pages
# included: clickjacking of Swagger UI's Authorize dialog).
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"x-frame-options", b"DENY"),
)
# In production only: browsers then refuse plain HTTP to this host for two years.
STRICT_TRANSPORT_SECURITY = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")


class RequestContextMiddleware:
    """Give each request an id, put it in every log line and on the response, add the security
    headers, and log the request once when it ends."""

    def __init__(self, app: ASGIApp, *, strict_transport_security: bool = False) -> None:
        self.app = app
        extra = (STRICT_TRANSPORT_SECURITY,) if strict_transport_security else ()
        self.security_headers = [*SECURITY_HEADERS, *extra]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_for(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        response_status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal response_status
            if message["type"] == "http.response.start":
                response_status = message["status"]
                headers = MutableHeaders(scope=message)
                headers[REQUEST_ID_HEADER] = request_id
                headers.raw.extend(self.security_headers)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            ACCESS_LOG.request(
                method=scope["method"],
                path=scope["path"],
                status=response_status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
            structlog.contextvars.unbind_contextvars("request_id")


class BodyLimitMiddleware:
    """Refuse request bodies over `max_bytes` with 413 problem details, whether the size is
    declared in Content-Length or only discovered while streaming.

    Hand-written because Starlette's RequestBodyLimitMiddleware answers in text/plain.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            response = problem(scope["path"], status.HTTP_413_CONTENT_TOO_LARGE, self._detail)
            await response(scope, receive, send)
            return
        received = 0

        async def receive_within_limit() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, self._detail)
            return message

        await self.app(scope, receive_within_limit, send)

    @property
    def _detail(self) -> str:
        return f"The request body exceeds {self.max_bytes} bytes."


class HostCheckMiddleware(TrustedHostMiddleware):
    """Starlette's Host header check (400 for a host not in ALLOWED_HOSTS, never a redirect),
    except for /health/...: orchestrators' probes name the pod's address, not the service's."""

    def __init__(self, app: ASGIApp, allowed_hosts: list[str]) -> None:
        super().__init__(app, allowed_hosts=allowed_hosts, www_redirect=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/health/"):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
