"""The web application's static files at `/app/`, on the API's own origin, and the local sign-in list.

The browser talks to the API with relative URLs, so serving `web/` from the same origin needs no
CORS. Every answer carries the headers CloudFront adds in the cloud: a CSP that allows only this
origin's scripts (no inline script, no eval), no framing, nosniff and HSTS (ignored on plain
http://127.0.0.1, harmless). The browser posts attachments straight to storage (a presigned S3
POST), so `connect-src` also names the storage origin (locally moto's). `GET /local/demo-users`
exists only here, never in the Chalice app or the template: it lists the demo users with a
freshly minted token each, which `make run` already prints and writes to `tokens.env` for anyone
on this machine.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import unquote, urlsplit

APP_PREFIX = "/app/"
DEMO_USERS_PATH = "/local/demo-users"


def content_security_policy(upload_origins: tuple[str, ...] = ()) -> str:
    """The CSP; `upload_origins` (URLs; their scheme://host:port counts) are where the browser may post files."""
    origins = [f"{urlsplit(url).scheme}://{urlsplit(url).netloc}" for url in upload_origins]
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            " ".join(["connect-src 'self'", *origins]),
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


CONTENT_SECURITY_POLICY = content_security_policy()
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".svg": "image/svg+xml", ".png": "image/png"}
# Dev dependencies (axe-core for the tests) and the npm manifests are not part of the site.
_NOT_SERVED = {"node_modules", "package.json", "package-lock.json"}


@dataclass
class WebApp:
    """What the local HTTP server answers itself instead of passing to the Chalice app."""

    web_dir: Path
    demo_users: Callable[[], list[dict[str, object]]]
    upload_origins: tuple[str, ...] = ()

    def handles(self, path: str) -> bool:
        path = urlsplit(path).path
        return path in ("/", "/app", DEMO_USERS_PATH) or path.startswith(APP_PREFIX)

    def respond(self, handler: BaseHTTPRequestHandler) -> None:
        path = urlsplit(handler.path).path
        if handler.command not in ("GET", "HEAD"):
            self._send(handler, 405, "text/plain; charset=utf-8", b"method not allowed\n", {"Allow": "GET, HEAD"})
        elif path in ("/", "/app"):
            self._send(handler, 302, "text/plain; charset=utf-8", b"", {"Location": APP_PREFIX})
        elif path == DEMO_USERS_PATH:
            body = json.dumps({"items": self.demo_users()}).encode()
            self._send(handler, 200, "application/json", body, {"Cache-Control": "no-store"})
        else:
            file = self._file(path.removeprefix(APP_PREFIX))
            if file is None:
                self._send(handler, 404, "text/plain; charset=utf-8", b"not found\n")
            else:
                content_type = _TYPES.get(file.suffix) or mimetypes.guess_type(file.name)[0] or "application/octet-stream"
                if content_type.startswith("text/"):
                    content_type += "; charset=utf-8"
                csp = {"Content-Security-Policy": content_security_policy(self.upload_origins)}
                self._send(handler, 200, content_type, file.read_bytes(), {"Cache-Control": "no-cache", **csp})

    def _file(self, relative: str) -> Path | None:
        parts = [part for part in unquote(relative).split("/") if part]
        if any(part.startswith(".") or part in _NOT_SERVED for part in parts):
            return None
        root = self.web_dir.resolve()
        candidate = root.joinpath(*parts) if parts else root
        if candidate.is_dir():
            candidate = candidate / "index.html"
        candidate = candidate.resolve()
        if not candidate.is_relative_to(root) or not candidate.is_file():
            return None
        return candidate

    @staticmethod
    def _send(
        handler: BaseHTTPRequestHandler, status: int, content_type: str, body: bytes, extra: dict[str, str] | None = None
    ) -> None:
        handler.send_response(status)
        for name, value in {**SECURITY_HEADERS, "Content-Type": content_type, **(extra or {})}.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(body)
