"""Shopify bulk query operations (GraphQL Admin API): ``bulkOperationRunQuery``, polling, and the JSONL result.

- ``bulkOperationRunQuery(query:, groupObjects:)`` validates the query as Shopify does: one top-level connection
  field (``node``/``nodes`` are refused), at least one and at most five connections, connections nested at most
  two levels deep (a connection inside a list field, like ``refunds { refundLineItems }``, counts at its
  connection depth). Errors come back as ``userErrors`` (``INVALID``). From version 2026-01 an app may run five
  bulk queries at a time per shop, before that one (``OPERATION_IN_PROGRESS``).
- An operation goes CREATED -> RUNNING -> COMPLETED (or FAILED, or CANCELED through ``bulkOperationCancel``);
  ``objectCount`` counts the lines written so far, ``rootObjectCount`` the top-level ones. Under ``real`` rate
  limits an operation writes ``REAL_OBJECTS_PER_S`` objects a second after ``REAL_START_S`` in the queue
  (Shopify publishes no throughput; the figure is an assumption, see docs/architecture.md); under ``demo`` and
  ``off`` as fast as the sandbox can.
- The result: one JSON object per line; a node of a nested connection is its own line with ``__parentId``, the id
  of the object owning the connection (a refund for its refund line items). With ``groupObjects: true`` a
  node's children follow it directly; without, the children of each block of ``UNGROUPED_BLOCK`` roots come
  after the block. ``url`` (and ``partialDataUrl`` of a failed operation) is a signed URL valid for
  ``URL_TTL_S`` from the moment it is read (each read of the operation signs a fresh one) until seven days after
  completion, when the operation becomes EXPIRED; an expired signature gets a 400 with a storage XML
  ``ExpiredToken`` error, as Google Cloud Storage answers. An operation with no objects has no ``url``.
  Downloads honour ``Range: bytes=N-``.
- Faults: under ``light``/``heavy`` faults a seeded share of operations FAIL midway (``INTERNAL_SERVER_ERROR``,
  with the lines written so far at ``partialDataUrl``); tests may force the next ones with
  ``state(app).fail_next``. Transport faults of downloads (truncated or short bodies) come from ``faults.py``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import shutil
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from graphql import FieldNode, GraphQLObjectType, OperationDefinitionNode, get_named_type, is_leaf_type

from sandbox import shopify_graphql as gql
from sandbox.protocol import Request, Response
from sandbox.shopify_nodes import ROOTS, Node, gid, utc

REAL_OBJECTS_PER_S = 2000.0
REAL_START_S = 1.0
URL_TTL_S = 7 * 24 * 3600.0  # as long as the result lives; tests shorten it
RESULT_LIFETIME = timedelta(days=7)
MAX_CONNECTIONS, MAX_DEPTH = 5, 2
UNGROUPED_BLOCK = 500
FAIL_RATES = {"none": 0.0, "light": 0.02, "heavy": 0.08}
CLOCK = time.time  # the signing clock (tests may replace it)
_KEY = b"salesdw-sandbox-shopify-bulk"  # signs the sandbox's own result URLs; not a secret of any service


@dataclass
class BulkOp:
    ident: int
    query: str
    group: bool
    created_at: datetime
    status: str = "CREATED"
    error_code: str | None = None
    completed_at: datetime | None = None
    object_count: int = 0
    root_count: int = 0
    path: Path | None = None
    cancel: bool = False
    fail_after_roots: int | None = None


@dataclass
class BulkState:
    directory: Path
    ops: dict[int, BulkOp] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_id: int = 4_400_000_000
    started: int = 0
    fail_next: int = 0  # tests: how many of the next operations fail midway


_STATES: dict[int, BulkState] = {}
_STATES_LOCK = threading.Lock()


def state(app: Any) -> BulkState:
    """The bulk operations of one sandbox app (its ``SandboxApp``), kept beside it."""
    with _STATES_LOCK:
        found = _STATES.get(id(app))
        if found is None:
            directory = Path(tempfile.mkdtemp(prefix="salesdw-shopify-bulk-"))
            found = _STATES[id(app)] = BulkState(directory)
            if app is not None:  # the files go with the app
                weakref.finalize(app, _forget, id(app), directory)
        return found


def _forget(key: int, directory: Path) -> None:
    with _STATES_LOCK:
        _STATES.pop(key, None)
    shutil.rmtree(directory, ignore_errors=True)


def _mode(ctx: gql.Context) -> str:
    return getattr(getattr(ctx.app, "limiter", None), "mode", "off")


def _now() -> datetime:
    return datetime.fromtimestamp(CLOCK(), UTC)


# --- validation -------------------------------------------------------------------------------------------------------


def _connections(ctx: gql.Context, parent: GraphQLObjectType, node: FieldNode, depth: int, found: list[int]) -> None:
    """Depths of the connections under ``node`` (a field of ``parent``), into ``found``."""
    for sel in gql.collect_fields(ctx, node.selection_set, None):
        name = sel.name.value
        if name.startswith("__"):
            continue
        fdef = parent.fields.get(name) if hasattr(parent, "fields") else None
        if fdef is None:
            continue
        named = get_named_type(fdef.type)
        if is_leaf_type(named):
            continue
        if gql.is_connection(fdef.type):
            found.append(depth + 1)
            node_type = gql._connection_node_type(named)
            for inner in gql.collect_fields(ctx, sel.selection_set, None):
                if inner.name.value == "nodes":
                    for t in gql._possible(node_type):
                        _connections(ctx, t, inner, depth + 1, found)
                elif inner.name.value == "edges":
                    for edge_field in gql.collect_fields(ctx, inner.selection_set, None):
                        if edge_field.name.value == "node":
                            for t in gql._possible(node_type):
                                _connections(ctx, t, edge_field, depth + 1, found)
        elif name not in ("pageInfo",):
            for t in gql._possible(named):
                _connections(ctx, t, sel, depth, found)


def validate_bulk(ctx: gql.Context, text: str) -> tuple[OperationDefinitionNode, FieldNode] | str:
    parsed = gql.parse_query(text)
    if parsed.document is None:
        return "Invalid bulk query: " + "; ".join(e.get("message", "") for e in parsed.errors)
    inner = gql.Context(ctx.world, parsed.document, {}, heavy_seed=ctx.heavy_seed, bulk=True, app=ctx.app)
    try:
        op = gql.operation_of(parsed.document, None)
    except gql.QueryError as exc:
        return str(exc)
    if op.operation.value != "query":
        return "Bulk queries must be queries, not mutations."
    tops = gql.collect_fields(inner, op.selection_set, "QueryRoot")
    if len(tops) != 1:
        return "Bulk queries must contain exactly one top-level field."
    top = tops[0]
    name = top.name.value
    if name in ("node", "nodes"):
        return "The top-level `node` and `nodes` fields can't be used in bulk queries."
    if name not in ROOTS:
        return "Bulk queries must contain at least one connection."
    found = [1]  # the top-level connection, then every nested one at its depth
    _connections(inner, get_named_type(gql.QUERY_ROOT.fields[name].type), top, 1, found)  # type: ignore[arg-type]
    if len(found) > MAX_CONNECTIONS:
        return f"Bulk queries cannot contain more than {MAX_CONNECTIONS} connections."
    if max(found) > MAX_DEPTH:
        return f"Bulk queries cannot contain connections with a nesting depth greater than {MAX_DEPTH}."
    return op, top


# --- the result file -------------------------------------------------------------------------------------------------


def _flat(
    ctx: gql.Context,
    value: Node,
    type_: GraphQLObjectType,
    selection: Any,
    owner: str | None,
    queued: list[tuple[str | None, list[Any], Any, Any]],
) -> Node:
    """``project`` for a bulk line: nested connections are left out of the line and queued (owner id, nodes,
    selection, node type) to be written as lines of their own."""
    out: Node = {}
    for node in gql.collect_fields(ctx, selection, type_.name):
        name = node.name.value
        key = node.alias.value if node.alias else name
        if name == "__typename":
            out[key] = type_.name
            continue
        fdef = type_.fields[name]
        raw = gql.resolve(value.get(name))
        named = get_named_type(fdef.type)
        if is_leaf_type(named):
            out[key] = raw
        elif gql.is_connection(fdef.type):
            node_type = gql._connection_node_type(named)
            node_sel = _node_selection(ctx, node, named)
            queued.append((value.get("id") or owner, list(raw or []), node_sel, node_type))
        elif gql._is_list(fdef.type):
            out[key] = [
                None
                if item is None
                else _flat(
                    ctx,
                    gql.resolve(item),
                    gql._object_type(fdef.type, gql.resolve(item)),
                    node.selection_set,
                    gql.resolve(item).get("id") or owner,
                    queued,
                )
                for item in (gql.resolve(i) for i in (raw or []))
            ]
        else:
            out[key] = (
                None
                if raw is None
                else _flat(
                    ctx, raw, gql._object_type(fdef.type, raw), node.selection_set, raw.get("id") or owner, queued
                )
            )
    return out


def _node_selection(ctx: gql.Context, conn_node: FieldNode, conn_type: Any) -> Any:
    for sel in gql.collect_fields(ctx, conn_node.selection_set, conn_type.name):
        if sel.name.value == "nodes":
            return sel.selection_set
        if sel.name.value == "edges":
            for inner in gql.collect_fields(ctx, sel.selection_set, None):
                if inner.name.value == "node":
                    return inner.selection_set
    return None


def _lines_of(ctx: gql.Context, node: Node, type_: GraphQLObjectType, selection: Any, parent: str | None) -> list[str]:
    """The JSONL lines of one node and, after it, of its nested connections' nodes (depth first)."""
    queued: list[tuple[str | None, list[Any], Any, Any]] = []
    line = _flat(ctx, node, type_, selection, None, queued)
    if parent is not None:
        line["__parentId"] = parent
    out = [json.dumps(line, separators=(",", ":"))]
    for owner, children, child_sel, child_type in queued:
        for child in children:
            child = gql.resolve(child)
            out += _lines_of(ctx, child, gql._object_type(child_type, child), child_sel, owner)
    return out


def _rendering(op: BulkOp, root: str, rows: list[Any]) -> tuple[str, bool, str]:
    """What an operation's file depends on besides the world: its fields (the query without its search string, which
    the client writes with its own clock's bounds), grouping, and the ids of the rows its search matched, in order."""
    fields = re.sub(r'query:\s*"(?:[^"\\]|\\.)*"', "query:*", op.query)
    ids = hashlib.sha256("\n".join(str(ROOTS[root]["id"](r)) for r in rows).encode()).hexdigest()
    return fields, op.group, ids


def _run(op: BulkOp, ctx: gql.Context, top: FieldNode, st: BulkState, paced: bool) -> None:
    try:
        if paced:
            time.sleep(REAL_START_S)
        op.status = "RUNNING"
        args = gql.args_of(ctx, gql.QUERY_ROOT, top)
        root = top.name.value
        rows, _ = gql.matching(ctx, root, args)
        if args.get("reverse"):
            rows = rows[::-1]
        conn_type = get_named_type(gql.QUERY_ROOT.fields[root].type)
        node_type = gql._connection_node_type(conn_type)
        selection = _node_selection(ctx, top, conn_type)
        spec = ROOTS[root]
        path = st.directory / f"{op.ident}.jsonl"
        faultless = getattr(ctx.app, "fault_mode", "none") == "none" and op.fail_after_roots is None
        cache = getattr(ctx.app, "render_cache", None) if faultless and not paced else None
        key = cache.key("shopify-bulk", ctx.world.config, ctx.version, *_rendering(op, root, rows)) if cache else ""
        kept = cache.get(key, path) if cache else None
        if kept is not None:  # the same world, query and sandbox code rendered this file before
            op.object_count, op.root_count = kept["objects"], kept["roots"]
            op.path, op.completed_at, op.status = path, _now(), "COMPLETED"
            return
        started = time.monotonic()
        pending: list[str] = []
        with path.open("w", encoding="utf-8") as out:
            for n, row in enumerate(rows):
                if op.cancel:
                    op.status = "CANCELED"
                    return
                if op.fail_after_roots is not None and n >= op.fail_after_roots:
                    out.writelines(pending)
                    op.path, op.status, op.error_code = path, "FAILED", "INTERNAL_SERVER_ERROR"
                    op.completed_at = _now()
                    return
                node = spec["render"](row, ctx.world, ctx.heavy_seed)
                lines = _lines_of(ctx, node, gql._object_type(node_type, node), selection, None)
                if op.group:
                    out.write("\n".join(lines) + "\n")
                else:
                    out.write(lines[0] + "\n")
                    pending += [line + "\n" for line in lines[1:]]
                    if (n + 1) % UNGROUPED_BLOCK == 0:
                        out.writelines(pending)
                        pending = []
                op.object_count += len(lines)
                op.root_count += 1
                if paced:
                    ahead = op.object_count / REAL_OBJECTS_PER_S - (time.monotonic() - started)
                    if ahead > 0.05:
                        time.sleep(ahead)
            out.writelines(pending)
        if cache is not None:
            cache.put(key, path, {"objects": op.object_count, "roots": op.root_count})
        op.path = path
        op.completed_at = _now()
        op.status = "COMPLETED"
    except Exception:  # a sandbox bug fails the operation, as an internal error would on Shopify
        op.status, op.error_code, op.completed_at = "FAILED", "INTERNAL_SERVER_ERROR", _now()
        raise


def run_query(ctx: gql.Context, args: dict[str, Any]) -> Node:
    st = state(ctx.app)
    checked = validate_bulk(ctx, args["query"])
    if isinstance(checked, str):
        return {"bulkOperation": None, "userErrors": [{"code": "INVALID", "field": ["query"], "message": checked}]}
    _, top = checked
    limit = 5 if ctx.version >= "2026-01" or ctx.version == "unstable" else 1
    with st.lock:
        running = [o for o in st.ops.values() if o.status in ("CREATED", "RUNNING")]
        if len(running) >= limit:
            return {
                "bulkOperation": None,
                "userErrors": [
                    {
                        "code": "OPERATION_IN_PROGRESS",
                        "field": None,
                        "message": f"A bulk query operation for this app and shop is already in progress: "
                        f"{gid('BulkOperation', running[0].ident)}."
                        if limit == 1
                        else f"Bulk query operations limit reached: {limit} are running for this app and shop.",
                    }
                ],
            }
        st.next_id += 1
        op = BulkOp(st.next_id, args["query"], bool(args.get("groupObjects")), _now())
        st.ops[op.ident] = op
        st.started += 1
        faults = getattr(ctx.app, "faults", None)
        rate = FAIL_RATES.get(getattr(ctx.app, "fault_mode", "none"), 0.0)
        if st.fail_next > 0:
            st.fail_next -= 1
            op.fail_after_roots = 3
        elif faults is not None and rate and _unit(faults.seed, "bulk-fail", st.started) < rate:
            op.fail_after_roots = int(_unit(faults.seed, "bulk-fail-at", st.started) * 2000)
    inner_parsed = gql.parse_query(args["query"]).document
    inner = gql.Context(ctx.world, inner_parsed, {}, heavy_seed=ctx.heavy_seed, bulk=True, app=ctx.app)  # type: ignore[arg-type]
    paced = _mode(ctx) == "real"
    answer = operation_dict(ctx, op)  # CREATED, as Shopify answers: the operation's progress is read by polling
    threading.Thread(target=_run, args=(op, inner, top, st, paced), name=f"bulk-{op.ident}", daemon=True).start()
    return {"bulkOperation": answer, "userErrors": []}


def _unit(*parts: object) -> float:
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _sign(op: int, issued: int, ttl: int) -> str:
    return hmac.new(_KEY, f"{op}:{issued}:{ttl}".encode(), hashlib.sha256).hexdigest()


def _url(ctx: gql.Context, op: BulkOp) -> str:
    issued, ttl = int(CLOCK()), int(URL_TTL_S)
    return (
        f"{ctx.base_url}/shopify-bulk/{op.ident}.jsonl?X-Goog-Algorithm=GOOG4-HMAC-SHA256"
        f"&X-Goog-Date={issued}&X-Goog-Expires={ttl}&X-Goog-Signature={_sign(op.ident, issued, ttl)}"
    )


def operation_dict(ctx: gql.Context, op: BulkOp) -> Node:
    if op.status == "COMPLETED" and op.completed_at is not None and _now() > op.completed_at + RESULT_LIFETIME:
        op.status = "EXPIRED"
    # one reading of the running operation (its thread sets the file before the final status)
    status, error_code, completed_at = op.status, op.error_code, op.completed_at
    objects, roots, path = op.object_count, op.root_count, op.path
    has_file = status in ("COMPLETED", "FAILED") and path is not None and objects > 0
    return {
        "__typename": "BulkOperation",
        "id": gid("BulkOperation", op.ident),
        "status": status,
        "errorCode": error_code,
        "createdAt": utc(op.created_at),
        "completedAt": utc(completed_at),
        "objectCount": str(objects),
        "rootObjectCount": str(roots),
        "fileSize": str(path.stat().st_size) if has_file and status == "COMPLETED" else None,  # type: ignore[union-attr]
        "url": _url(ctx, op) if has_file and status == "COMPLETED" else None,
        "partialDataUrl": _url(ctx, op) if has_file and status == "FAILED" else None,
        "query": op.query,
        "type": "QUERY",
    }


def operation_node(ctx: gql.Context, ident: int) -> Node | None:
    op = state(ctx.app).ops.get(ident)
    return None if op is None else operation_dict(ctx, op)


def root_field(ctx: gql.Context, name: str, args: dict[str, Any]) -> Node | None:
    st = state(ctx.app)
    if name == "bulkOperationRunQuery":
        return run_query(ctx, args)
    if name == "bulkOperation":
        from sandbox.shopify_nodes import parse_gid

        parsed = parse_gid(args["id"])
        return operation_node(ctx, parsed[1]) if parsed and parsed[0] == "BulkOperation" else None
    if name == "currentBulkOperation":
        if args.get("type") == "MUTATION" or not st.ops:
            return None
        return operation_dict(ctx, st.ops[max(st.ops)])
    if name == "bulkOperationCancel":
        from sandbox.shopify_nodes import parse_gid

        parsed = parse_gid(args["id"])
        op = st.ops.get(parsed[1]) if parsed else None
        if op is None:
            return {
                "bulkOperation": None,
                "userErrors": [{"code": None, "field": ["id"], "message": "Bulk operation does not exist"}],
            }
        if op.status not in ("CREATED", "RUNNING"):
            return {
                "bulkOperation": operation_dict(ctx, op),
                "userErrors": [
                    {
                        "code": None,
                        "field": None,
                        "message": f"A bulk operation cannot be canceled when it is {op.status.lower()}",
                    }
                ],
            }
        op.cancel, op.status = True, "CANCELING"
        return {"bulkOperation": operation_dict(ctx, op), "userErrors": []}
    return None


# --- the download ---------------------------------------------------------------------------------------------------


def _storage_error(status: int, code: str, message: str, details: str) -> Response:
    body = (
        "<?xml version='1.0' encoding='UTF-8'?><Error>"
        f"<Code>{code}</Code><Message>{message}</Message><Details>{details}</Details></Error>"
    ).encode()
    return Response(status, body, {"Content-Type": "application/xml; charset=UTF-8"})


def download(req: Request, world: Any, op: str, app: Any = None) -> Response:
    st = state(app)
    found = st.ops.get(int(op))
    try:
        issued, ttl = int(req.query["X-Goog-Date"]), int(req.query["X-Goog-Expires"])
        signature = req.query["X-Goog-Signature"]
    except (KeyError, ValueError):
        return _storage_error(400, "AuthenticationRequired", "Authentication required.", "Missing signature")
    if not hmac.compare_digest(signature, _sign(int(op), issued, ttl)):
        return _storage_error(
            403,
            "SignatureDoesNotMatch",
            "Access denied.",
            "The request signature we calculated does not match the signature you provided.",
        )
    if CLOCK() > issued + ttl:
        return _storage_error(
            400,
            "ExpiredToken",
            "The provided token has expired.",
            f"Request signature expired at: {datetime.fromtimestamp(issued + ttl, UTC).isoformat()}",
        )
    if found is None or found.path is None or not found.path.exists():
        return _storage_error(
            404, "NoSuchKey", "The specified key does not exist.", f"No such object: shopify-bulk/{op}.jsonl"
        )
    size = found.path.stat().st_size
    offset = 0
    wanted = req.headers.get("range", "")
    if wanted.startswith("bytes=") and wanted[6:].rstrip("-").isdigit():
        offset = int(wanted[6:].rstrip("-"))
        if offset >= size:
            return _storage_error(416, "InvalidRange", "The requested range cannot be satisfied.", wanted)
    response = Response(206 if offset else 200, b"", {"Content-Type": "application/jsonl"})
    response.file, response.file_offset = str(found.path), offset  # type: ignore[attr-defined]
    if offset:
        response.headers["Content-Range"] = f"bytes {offset}-{size - 1}/{size}"
    return response


download.wants_app = True  # type: ignore[attr-defined]
