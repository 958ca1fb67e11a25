"""The sandbox HTTP server: routes vendor paths to the API modules, with each vendor's auth, rate limits and
(with ``faults="light"|"heavy"``) the seeded faults of ``faults.py``."""

from __future__ import annotations

import gc
import logging
import threading
import time
from dataclasses import replace
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from sandbox import (
    amazon_ads_api,
    amazon_api,
    ebay_api,
    fx_api,
    ga4_api,
    google_ads_api,
    google_oauth,
    hubspot_api,
    meta_api,
    sheets_api,
    shopify_api,
)
from sandbox.faults import (
    FAULT_MODES,
    TOKEN_PATHS,
    TRANSPORT_KINDS,
    Fault,
    FaultInjector,
    listing_for,
    server_error,
    transform_body,
)
from sandbox.protocol import Request, Response, Route
from sandbox.ratelimit import RateLimiter
from sandbox.render_cache import RenderCache
from sandbox.world import World, WorldConfig, build_world
from sandbox.world_cache import WorldCache

log = logging.getLogger("salesdw.sandbox")
# Rate-limit policy of buckets whose vendor module declares none (LIMITS[b]["policy"] or LIMIT_POLICIES).
DEFAULT_LIMIT_POLICIES = {"hubspot": "rolling", "hubspot.search": "rolling"}  # TEN_SECONDLY_ROLLING, SECONDLY
DEFAULT_SLOW_S = 35.0  # past the 30 s timeout of ingestion.http.session.ResilientSession


# Each vendor module declares NAME, ROUTES, LIMITS and authorize / throttled / limit_headers; optionally
# PATH_PREFIXES with not_found(req) (its own 404 for paths it has no endpoint for) and response_headers(req)
# (headers it sends on every response, e.g. Shopify's X-Shopify-API-Version), and LIST_PARAMS (its list-valued
# query parameters, read with Request.values; tests/test_sandbox_list_params.py covers every one).
VENDORS: tuple[ModuleType, ...] = (
    shopify_api,
    hubspot_api,
    amazon_api,
    ebay_api,
    fx_api,
    sheets_api,
    ga4_api,
    meta_api,
    amazon_ads_api,
    google_oauth,
    google_ads_api,
)


class SandboxApp:
    """Everything but the socket: a request in, a response out. Holds the (advanceable) world.

    ``faults``: ``none`` | ``light`` | ``heavy`` (see ``faults.py``), seeded by ``fault_seed`` (default:
    the world seed), so the same request sequence gets the same faults. ``slow_s``: how long a ``slow``
    fault holds its response. With ``faults="none"`` no fault code runs at all.
    """

    def __init__(
        self,
        config: WorldConfig,
        rate_limits: str = "demo",
        faults: str = "none",
        *,
        slow_s: float = DEFAULT_SLOW_S,
        fault_seed: int | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        if faults not in FAULT_MODES:
            raise ValueError(f"faults mode must be one of {FAULT_MODES}, not {faults!r}")
        self.config = config
        self.slow_s = slow_s
        self.fault_mode = faults
        self.fault_seed = config.seed if fault_seed is None else fault_seed
        policies = dict(DEFAULT_LIMIT_POLICIES)
        for v in VENDORS:
            policies.update(getattr(v, "LIMIT_POLICIES", {}))
        self.limiter = RateLimiter(rate_limits, {b: lim for v in VENDORS for b, lim in v.LIMITS.items()}, policies)
        self.faults: FaultInjector | None = None if faults == "none" else FaultInjector(faults, self.fault_seed)
        self.tokens = amazon_api.TokenIssuer(
            time.monotonic, {k: v for m in VENDORS for k, v in getattr(m, "LWA_CLIENTS", {}).items()}
        )
        self._lock = threading.Lock()
        # the world and costly renderings kept on disk across sandboxes of the same world (world_cache.py,
        # render_cache.py); None: built and rendered each time
        self.world_cache = WorldCache(cache_dir) if cache_dir is not None else None
        self.world: World = self._build(config)
        self.render_cache = RenderCache(cache_dir) if cache_dir is not None else None
        self.routes: list[tuple[ModuleType, Route]] = [(v, r) for v in VENDORS for r in v.ROUTES]

    def advance(self, days: int) -> WorldConfig:
        with self._lock:
            self.config = replace(self.config, as_of=self.config.as_of + timedelta(days=days))
            frozen = gc.get_freeze_count() > 0  # a sandbox process froze the world it serves (process.py)
            if frozen:
                gc.unfreeze()  # the world replaced is collected as any garbage
            self.world = self._build(self.config)
            if frozen:
                gc.freeze()
            if self.faults is not None:
                self.faults.shifter.clear()
            return self.config

    def _build(self, config: WorldConfig) -> World:
        return self.world_cache.world(config) if self.world_cache is not None else build_world(config)

    def truth(self) -> dict[str, Any]:
        """The truth of the world as it is now (after any advance), under this sandbox's fault mode."""
        from sandbox.truth import compute_truth

        def compute() -> dict[str, Any]:
            return compute_truth(self.world, faults=self.fault_mode)

        return self.world_cache.truth(self.world, self.fault_mode, compute) if self.world_cache else compute()

    def handle(self, req: Request) -> Response:
        """The response to ``req``. Faults that live on the wire need the server: in-process, a ``slow`` or
        truncated response comes back whole, and a dropped connection as a placeholder status 599."""
        return self.dispatch(req)[0]

    def dispatch(self, req: Request) -> tuple[Response, Fault | None]:
        """The response to ``req`` and the transport fault to inject while sending it, if any."""
        response, fault = self._dispatch(req)
        vendor = self._vendor_of(req.path)
        extra = getattr(vendor, "response_headers", None) if vendor is not None else None
        if extra is not None:  # headers a vendor sends on every response (e.g. X-Shopify-API-Version)
            response.headers = {**extra(req), **response.headers}
        return response, fault

    @staticmethod
    def _vendor_of(path: str) -> ModuleType | None:
        for vendor in VENDORS:
            if path.startswith(getattr(vendor, "PATH_PREFIXES", ())):
                return vendor
        return None

    def _not_found(self, req: Request) -> Response:
        """Each vendor's own 404 for a path it has no endpoint for (by path prefix); a generic one otherwise."""
        vendor = self._vendor_of(req.path)
        make = getattr(vendor, "not_found", None) if vendor is not None else None
        return make(req) if make else Response(404, {"errors": "Not Found", "path": req.path})

    def _dispatch(self, req: Request) -> tuple[Response, Fault | None]:
        if req.path.startswith("/_sandbox/"):
            return self._control(req), None
        faults = self.faults
        if req.method == "POST" and req.path == "/auth/o2/token":
            fault = faults.decide(req, token=True) if faults else None
            if fault and fault.status:
                faults.record(fault, req)  # type: ignore[union-attr]
                return server_error("amazon", fault.status, token=True), None
            if fault and fault.kind == "dropped":
                faults.record(fault, req)  # type: ignore[union-attr]
                return Response(599, {}), fault
            return self._on_wire(fault, req, self.tokens.exchange(req))
        world = self.world
        for vendor, r in self.routes:
            match = r.pattern.fullmatch(req.path)
            if not match or r.method != req.method:
                continue
            # decided for every request of the route (before auth and limits, whose outcome may depend
            # on timing), so the k-th request with a given key always draws the same fault
            fault = faults.decide(req, token=bool(TOKEN_PATHS.fullmatch(req.path))) if faults else None
            denied = vendor.authorize(self, req)
            if denied:
                return denied, None
            if r.bucket in getattr(vendor, "SELF_LIMITED_BUCKETS", ()):  # the handler charges the query's cost itself
                allowed, wait_s, state = True, 0.0, None
            else:
                allowed, wait_s = self.limiter.take(r.bucket)
                state = self.limiter.bucket(r.bucket)
            if not allowed:
                response = vendor.throttled(r.bucket, wait_s)
                if state is not None:  # real vendors send their limit headers on a 429 too
                    response.headers = {**vendor.limit_headers(r.bucket, state), **response.headers}
                return response, None
            if fault is not None and (fault.status or fault.kind == "dropped"):
                faults.record(fault, req)  # type: ignore[union-attr]
                return self._injected_error(vendor, r.bucket, fault, req), fault
            extra = {"app": self} if getattr(r.handler, "wants_app", False) else {}
            response = r.handler(req, world, **match.groupdict(), **extra)
            if faults is not None:
                response = self._data_faults(faults, req, response, fault, world.config.seed)
            if state is not None:
                response.headers.update(vendor.limit_headers(r.bucket, state))
            return self._on_wire(fault, req, response)
        return self._not_found(req), None

    def _control(self, req: Request) -> Response:
        if req.path == "/_sandbox/health":
            return Response(200, {"status": "ok", "as_of": self.config.as_of.isoformat()})
        if req.method == "POST" and req.path == "/_sandbox/advance":
            cfg = self.advance(int(req.query.get("days", "1")))
            return Response(200, {"as_of": cfg.as_of.isoformat()})
        if req.path == "/_sandbox/truth":  # the world's truth now (after an advance), for a sandbox in a process
            return Response(200, self.truth())
        return Response(404, {"errors": "Not Found", "path": req.path})

    def _injected_error(self, vendor: ModuleType, bucket: str, fault: Fault, req: Request) -> Response:
        token = bool(TOKEN_PATHS.fullmatch(req.path))
        if fault.kind == "dropped":
            return Response(599, {})  # never sent: the server closes the connection instead
        if fault.status == 429 and not token:
            response = vendor.throttled(bucket, 1.0)
            exhausted = self.limiter.exhausted(bucket)
            if exhausted is not None:
                response.headers = {**vendor.limit_headers(bucket, exhausted), **response.headers}
            return response
        make = getattr(vendor, "server_error", None)  # a vendor module may shape its own 5xx
        return make(fault.status) if make else server_error(vendor.NAME, fault.status or 500, token=token)

    @staticmethod
    def _data_faults(
        faults: FaultInjector, req: Request, response: Response, fault: Fault | None, seed: int
    ) -> Response:
        """Heavy-mode bad records and schema drift, page shifts, and the page-shift memory."""
        if response.status != 200:
            return response
        if faults.heavy:
            body = transform_body(req.method, req.path, req.query, response.body, seed)
            if body is not response.body:
                response = Response(response.status, body, dict(response.headers))
        listing = listing_for(req.method, req.path)
        if listing is not None:
            if fault is not None and fault.kind == "page_shift":
                shifted = faults.shifter.shift(listing, req, response)
                if shifted is not None:
                    faults.record(fault, req)
                    response = Response(response.status, shifted, dict(response.headers))
            faults.shifter.remember(listing, req, response)
        return response

    def _on_wire(self, fault: Fault | None, req: Request, response: Response) -> tuple[Response, Fault | None]:
        if fault is not None and fault.kind in TRANSPORT_KINDS:
            self.faults.record(fault, req)  # type: ignore[union-attr]
            return response, fault
        return response, None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms delayed-ACK stalls
    app: SandboxApp

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        query, pairs = Request.parse_query(parts.query)
        req = Request(
            method=self.command,
            path=parts.path,
            query=query,
            pairs=pairs,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
            base_url=f"http://{self.headers.get('Host', '{}:{}'.format(*self.server.server_address[:2]))}",
        )
        fault: Fault | None = None
        try:
            response, fault = self.app.dispatch(req)
        except Exception as exc:  # a sandbox bug must show as a 500, not a dropped connection
            log.exception("sandbox error on %s", self.path)
            response = Response(500, {"errors": f"sandbox error: {exc}"})
        kind = fault.kind if fault is not None else None
        if kind == "dropped":  # no response at all: the client sees the connection closed
            self.close_connection = True
            return
        if kind == "slow":
            time.sleep(self.app.slow_s)
        if response.file is not None:
            self._send_file(response, fault)
            return
        data = response.encode()
        body = fault.truncate(data) if fault is not None and kind in ("truncated_json", "short_body") else data
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.headers.get("Content-Type", "application/json; charset=utf-8"))
            # truncated_json: a complete message whose JSON is invalid; short_body: announces the whole
            # body, sends a prefix and closes (a short read)
            self.send_header("Content-Length", str(len(data) if kind == "short_body" else len(body)))
            for k, v in response.headers.items():
                if k != "Content-Type":
                    self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (e.g. timed out on a slow fault)
            self.close_connection = True
            return
        if kind == "short_body":
            self.close_connection = True

    def _send_file(self, response: Response, fault: Fault | None) -> None:
        """A file body (a bulk operation's JSONL), streamed; truncation faults cut it like a JSON body."""
        import os

        path, offset = response.file, response.file_offset
        size = os.path.getsize(path) - offset  # type: ignore[arg-type]
        kind = fault.kind if fault is not None else None
        send = size
        if fault is not None and kind in ("truncated_json", "short_body") and size >= 2:
            send = max(1, min(size - 1, int(size * (0.1 + 0.8 * fault.cut))))
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.headers.get("Content-Type", "application/octet-stream"))
            self.send_header("Content-Length", str(size if kind == "short_body" else send))
            for k, v in response.headers.items():
                if k != "Content-Type":
                    self.send_header(k, v)
            self.end_headers()
            with open(path, "rb") as source:  # type: ignore[arg-type]
                source.seek(offset)
                left = send
                while left > 0:
                    chunk = source.read(min(1 << 20, left))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    left -= len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return
        if kind == "short_body":
            self.close_connection = True

    do_GET = do_POST = do_DELETE = _serve

    def log_message(self, format: str, *args: object) -> None:
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

    def start(self) -> SandboxServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
