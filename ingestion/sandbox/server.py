"""The sandbox HTTP server: routes vendor paths to the API modules, with each vendor's auth and rate limits."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from urllib.parse import parse_qsl, urlsplit

from ingestion.sandbox import amazon_api, fx_api, hubspot_api, shopify_api
from ingestion.sandbox.protocol import Request, Response, Route
from ingestion.sandbox.ratelimit import RateLimiter
from ingestion.sandbox.world import World, WorldConfig, build_world

log = logging.getLogger("salesdw.sandbox")
FAULT_MODES = ("none",)  # light/heavy arrive with the full sandbox (issue 3)


# Each vendor module declares NAME, ROUTES, LIMITS and authorize / throttled / limit_headers.
VENDORS: tuple[ModuleType, ...] = (shopify_api, hubspot_api, amazon_api, fx_api)


class SandboxApp:
    """Everything but the socket: a request in, a response out. Holds the (advanceable) world."""

    def __init__(self, config: WorldConfig, rate_limits: str = "demo", faults: str = "none") -> None:
        if faults not in FAULT_MODES:
            raise ValueError(f"faults mode {faults!r} is not implemented yet; available: {FAULT_MODES}")
        self.config = config
        self.limiter = RateLimiter(rate_limits, {b: lim for v in VENDORS for b, lim in v.LIMITS.items()})
        self.tokens = amazon_api.TokenIssuer(time.monotonic)
        self._lock = threading.Lock()
        self.world: World = build_world(config)
        self.routes: list[tuple[ModuleType, Route]] = [(v, r) for v in VENDORS for r in v.ROUTES]

    def advance(self, days: int) -> WorldConfig:
        with self._lock:
            self.config = replace(self.config, as_of=self.config.as_of + timedelta(days=days))
            self.world = build_world(self.config)
            return self.config

    def handle(self, req: Request) -> Response:
        if req.path == "/_sandbox/health":
            return Response(200, {"status": "ok", "as_of": self.config.as_of.isoformat()})
        if req.method == "POST" and req.path == "/_sandbox/advance":
            cfg = self.advance(int(req.query.get("days", "1")))
            return Response(200, {"as_of": cfg.as_of.isoformat()})
        if req.method == "POST" and req.path == "/auth/o2/token":
            return self.tokens.exchange(req)
        world = self.world
        for vendor, r in self.routes:
            match = r.pattern.fullmatch(req.path)
            if not match or r.method != req.method:
                continue
            denied = vendor.authorize(self, req)
            if denied:
                return denied
            allowed, wait_s = self.limiter.take(r.bucket)
            if not allowed:
                return vendor.throttled(r.bucket, wait_s)
            response = r.handler(req, world, **match.groupdict())
            state = self.limiter.bucket(r.bucket)
            if state is not None:
                response.headers.update(vendor.limit_headers(r.bucket, state))
            return response
        return Response(404, {"errors": "Not Found", "path": req.path})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms delayed-ACK stalls
    app: SandboxApp

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        req = Request(method=self.command, path=parts.path, query=dict(parse_qsl(parts.query)),
                      headers={k.lower(): v for k, v in self.headers.items()},
                      body=self.rfile.read(length) if length else b"",
                      base_url=f"http://{self.headers.get('Host', '%s:%s' % self.server.server_address[:2])}")
        try:
            response = self.app.handle(req)
        except Exception as exc:  # a sandbox bug must show as a 500, not a dropped connection
            log.exception("sandbox error on %s", self.path)
            response = Response(500, {"errors": f"sandbox error: {exc}"})
        data = response.encode()
        self.send_response(response.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in response.headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _serve

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        log.debug("%s - %s", self.address_string(), format % args)


class SandboxServer:
    """A running sandbox on a host/port (port 0 picks a free one); usable as a context manager."""

    def __init__(self, app: SandboxApp, host: str = "127.0.0.1", port: int = 8700) -> None:
        handler = type("Handler", (_Handler,), {"app": app})
        self.app = app
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="sandbox", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "SandboxServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
