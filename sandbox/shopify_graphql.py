"""Shopify's GraphQL Admin API (``POST /admin/api/{version}/graphql.json``) over the simulated shop.

The schema is ``shopify_admin.graphql`` (a subset of 2026-10). Queries are parsed and validated by graphql-core
(bad queries get GraphQL errors, HTTP 200, as on Shopify); execution is a projection of the node dicts of
``shopify_nodes.py`` along the query's selections (graphql-core's resolver machinery would cost more than the
rest of the sandbox together on a bulk export).

- **Connections**: Relay cursors (``first``/``after``, ``last``/``before``, ``reverse``), ``edges { cursor node }``,
  ``nodes`` and ``pageInfo``; ``first`` or ``last`` is required (at most 250) outside bulk operations. Root
  connections sort by ``sortKey`` (``ID`` default, ``UPDATED_AT``, ``CREATED_AT``) and take ``query:`` in
  Shopify's search syntax: ``field:value``, ``field:>=value`` (``>``, ``<``, ``<=``), quoted values, terms
  joined by spaces or ``AND``; ``updated_at``, ``created_at`` and ``id`` on every root, ``status``
  (``any`` | ``open`` | ``closed`` | ``cancelled``), ``financial_status`` and ``test`` on orders. An unknown
  field is ignored with a warning in ``extensions.search``, as Shopify does.
- **Cost** (Shopify's calculated query cost): a scalar or enum costs 0, an object 1, a connection 2 plus
  ``first`` times the cost of one node, a list of objects its ``first`` (or its ids) times one item; a
  mutation 10. ``extensions.cost`` reports ``requestedQueryCost``, ``actualQueryCost`` (what the response
  really held) and ``throttleStatus`` (``maximumAvailable``, ``currentlyAvailable``, ``restoreRate``). The
  requested cost is taken from the app×shop bucket before the query runs and the difference to the actual cost
  is given back; when the bucket holds less than the requested cost the answer is a ``THROTTLED`` error
  (HTTP 200), and a query requesting more than 1,000 points is refused with ``MAX_COST_EXCEEDED``.
  Buckets: ``real`` is the Standard plan (2,000 points, 100 restored a second), ``demo`` 20,000 and 10,000.
- **Auth**: ``X-Shopify-Access-Token`` carries a token of the client-credentials grant
  (``POST /admin/oauth/access_token``, ``shopify_oauth.py``) or, for stores connected before 2026, the legacy
  static ``shpat_`` token of an admin-created custom app.
- **Bulk operations**: ``bulkOperationRunQuery``, ``bulkOperation(id:)``, ``currentBulkOperation`` and
  ``node(id:)`` on a ``BulkOperation`` are served by ``shopify_bulk.py``.
"""

from __future__ import annotations

import base64
import json
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    build_schema,
    get_named_type,
    is_abstract_type,
    is_leaf_type,
    parse,
    validate,
)
from graphql.execution.values import get_argument_values, get_variable_values

from sandbox.protocol import Request, Response, parse_time
from sandbox.shopify_nodes import ROOTS, Node, parse_gid
from sandbox.world import World

SCHEMA = build_schema((Path(__file__).with_name("shopify_admin.graphql")).read_text())
QUERY_ROOT: GraphQLObjectType = SCHEMA.query_type  # type: ignore[assignment]
MUTATION_ROOT: GraphQLObjectType = SCHEMA.mutation_type  # type: ignore[assignment]
MAX_QUERY_COST = 1000
MAX_PAGE = 250
MUTATION_COST = 10
COST_BUCKET = "shopify.graphql"
RATE_LIMIT_DOCS = "https://shopify.dev/api/usage/rate-limits"


class QueryError(Exception):
    """A GraphQL error Shopify answers with ``{"errors": [...]}`` (HTTP 200)."""

    def __init__(self, message: str, code: str | None = None, path: list[Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.path = code, path

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": str(self)}
        if self.path:
            out["path"] = self.path
        if self.code:
            out["extensions"] = {"code": self.code}
        return out


# --- parsing -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parsed:
    document: DocumentNode | None
    errors: tuple[dict[str, Any], ...] = ()


@lru_cache(maxsize=256)
def parse_query(text: str) -> Parsed:
    try:
        document = parse(text)
    except GraphQLError as exc:
        return Parsed(None, (exc.formatted,))
    errors = validate(SCHEMA, document)
    if errors:
        return Parsed(None, tuple(e.formatted for e in errors))
    return Parsed(document)


def operation_of(document: DocumentNode, name: str | None) -> OperationDefinitionNode:
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name:
        ops = [o for o in ops if o.name is not None and o.name.value == name]
    if len(ops) != 1:
        raise QueryError("An operation name is required" if not name else f'No operation named "{name}"')
    return ops[0]


@dataclass
class Context:
    world: World
    document: DocumentNode
    variables: dict[str, Any]
    heavy_seed: int | None = None
    bulk: bool = False  # inside a bulk operation: connections need no first/last and are not paged
    actual: int = 0
    fragments: dict[str, FragmentDefinitionNode] = field(default_factory=dict)
    search_warnings: list[dict[str, Any]] = field(default_factory=list)
    app: Any = None
    version: str = ""
    base_url: str = ""

    def __post_init__(self) -> None:
        self.fragments = {d.name.value: d for d in self.document.definitions if isinstance(d, FragmentDefinitionNode)}


def collect_fields(ctx: Context, selection_set: SelectionSetNode | None, type_name: str | None) -> list[FieldNode]:
    """The fields selected on an object of ``type_name`` (None: every fragment, for the static cost)."""
    out: list[FieldNode] = []
    if selection_set is None:
        return out
    for sel in selection_set.selections:
        if isinstance(sel, FieldNode):
            out.append(sel)
        elif isinstance(sel, InlineFragmentNode):
            cond = sel.type_condition.name.value if sel.type_condition else None
            if type_name is None or cond is None or _applies(cond, type_name):
                out += collect_fields(ctx, sel.selection_set, type_name)
        elif isinstance(sel, FragmentSpreadNode):
            frag = ctx.fragments[sel.name.value]
            if type_name is None or _applies(frag.type_condition.name.value, type_name):
                out += collect_fields(ctx, frag.selection_set, type_name)
    return out


def _applies(condition: str, type_name: str) -> bool:
    if condition == type_name:
        return True
    cond = SCHEMA.get_type(condition)
    obj = SCHEMA.get_type(type_name)
    return bool(cond is not None and is_abstract_type(cond) and obj is not None and SCHEMA.is_sub_type(cond, obj))  # type: ignore[arg-type]


def is_connection(type_: Any) -> bool:
    return get_named_type(type_).name.endswith("Connection")


def _is_list(type_: Any) -> bool:
    t = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    return isinstance(t, GraphQLList)


def args_of(ctx: Context, parent: GraphQLObjectType, node: FieldNode) -> dict[str, Any]:
    fdef = parent.fields[node.name.value]
    return get_argument_values(fdef, node, ctx.variables) if fdef.args else {}


def _object_type(type_: Any, value: Node | None) -> GraphQLObjectType:
    named = get_named_type(type_)
    if is_abstract_type(named):
        name = (value or {}).get("__typename")
        resolved = SCHEMA.get_type(name) if name else None
        if not isinstance(resolved, GraphQLObjectType):
            raise QueryError(f"cannot resolve the type of an abstract {named.name}")
        return resolved
    return named  # type: ignore[return-value]


# --- static cost ---------------------------------------------------------------------------------------------------


def requested_cost(ctx: Context, parent: GraphQLObjectType, selection_set: SelectionSetNode | None) -> int:
    total = 0
    for node in collect_fields(ctx, selection_set, None):
        name = node.name.value
        if name.startswith("__"):
            continue
        fdef = parent.fields.get(name)
        if fdef is None:
            continue
        named = get_named_type(fdef.type)
        if is_leaf_type(named):
            continue
        args = args_of(ctx, parent, node)
        if is_connection(fdef.type):
            node_type = _connection_node_type(named)
            per_node = _node_selection_cost(ctx, node_type, node)
            count = args.get("first") or args.get("last") or (1 if ctx.bulk else MAX_PAGE)
            total += 2 + count * per_node
        else:
            child_types = _possible(named)
            per = max(1 + requested_cost(ctx, t, node.selection_set) for t in child_types)
            if _is_list(fdef.type):
                count = len(args.get("ids") or []) or args.get("first") or 1
                total += count * per
            else:
                total += per
    return total


def _possible(named: Any) -> list[GraphQLObjectType]:
    if is_abstract_type(named):
        return list(SCHEMA.get_possible_types(named)) or []
    return [named]


def _connection_node_type(connection: Any) -> Any:
    return get_named_type(connection.fields["nodes"].type)


def _node_selection_cost(ctx: Context, node_type: Any, conn_node: FieldNode) -> int:
    """The cost of one node of a connection: its ``nodes`` and ``edges { node }`` selections (the most of them)."""
    best = 0
    for sel in collect_fields(ctx, conn_node.selection_set, None):
        if sel.name.value == "nodes":
            best = max(best, max(1 + requested_cost(ctx, t, sel.selection_set) for t in _possible(node_type)))
        elif sel.name.value == "edges":
            for inner in collect_fields(ctx, sel.selection_set, None):
                if inner.name.value == "node":
                    best = max(best, max(1 + requested_cost(ctx, t, inner.selection_set) for t in _possible(node_type)))
    return best


# --- projection ----------------------------------------------------------------------------------------------------


def resolve(value: Any) -> Any:
    return value() if callable(value) else value


def project(ctx: Context, value: Node, type_: GraphQLObjectType, selection_set: SelectionSetNode | None) -> Node:
    ctx.actual += 1
    out: Node = {}
    for node in collect_fields(ctx, selection_set, type_.name):
        name = node.name.value
        key = node.alias.value if node.alias else name
        if name == "__typename":
            out[key] = type_.name
            continue
        fdef = type_.fields[name]
        raw = resolve(value.get(name))
        named = get_named_type(fdef.type)
        if is_leaf_type(named):
            out[key] = raw
        elif is_connection(fdef.type):
            out[key] = connection(ctx, list(raw or []), args_of(ctx, type_, node), node, named)
        elif _is_list(fdef.type):
            items = list(raw or [])
            first = args_of(ctx, type_, node).get("first")
            if first is not None:
                items = items[:first]
            out[key] = [
                None
                if item is None
                else project(ctx, resolve(item), _object_type(fdef.type, resolve(item)), node.selection_set)
                for item in items
            ]
        else:
            out[key] = None if raw is None else project(ctx, raw, _object_type(fdef.type, raw), node.selection_set)
    return out


def encode(state: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode().rstrip("=")


def decode(token: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except ValueError as exc:
        raise QueryError(f"Invalid cursor for current pagination sort: {token!r}", "BAD_REQUEST") from exc


def page_args(ctx: Context, args: dict[str, Any], node: FieldNode) -> tuple[int, bool]:
    """(page size, backwards) of a connection's arguments; raises Shopify's errors for bad ones."""
    first, last = args.get("first"), args.get("last")
    if ctx.bulk:
        return 10**12, False
    if first is None and last is None:
        raise QueryError("you must provide one of first or last", "BAD_REQUEST", [node.name.value])
    if first is not None and last is not None:
        raise QueryError("providing both first and last is not supported", "BAD_REQUEST", [node.name.value])
    size = first if first is not None else last
    if size < 0 or size > MAX_PAGE:
        raise QueryError(f"The page size ({size}) exceeds the maximum of {MAX_PAGE}.", "BAD_REQUEST")
    return size, last is not None


def connection(ctx: Context, items: list[Any], args: dict[str, Any], node: FieldNode, conn_type: Any) -> Node:
    """A nested connection over the list of its nodes (cursors: positions)."""
    ctx.actual += 2
    if args.get("reverse"):
        items = items[::-1]
    size, backwards = page_args(ctx, args, node)
    start, end = 0, len(items)
    if args.get("after"):
        start = int(decode(args["after"]).get("i", -1)) + 1
    if args.get("before"):
        end = int(decode(args["before"]).get("i", len(items)))
    window = list(range(start, max(start, end)))
    chosen = window[-size:] if backwards else window[:size]
    cursors = [encode({"i": i}) for i in chosen]
    return shape(
        ctx,
        [items[i] for i in chosen],
        cursors,
        chosen and chosen[-1] < len(items) - 1,
        bool(chosen and chosen[0] > 0),
        node,
        conn_type,
    )


def shape(
    ctx: Context,
    nodes: list[Any],
    cursors: list[str],
    has_next: bool,
    has_previous: bool,
    node: FieldNode,
    conn_type: Any,
) -> Node:
    node_type = _connection_node_type(conn_type)
    out: Node = {}
    projected: list[Node] | None = None

    def render_all(selection: SelectionSetNode | None) -> list[Node]:
        return [project(ctx, resolve(n), _object_type(node_type, resolve(n)), selection) for n in nodes]

    for sel in collect_fields(ctx, node.selection_set, conn_type.name):
        key = sel.alias.value if sel.alias else sel.name.value
        if sel.name.value == "nodes":
            projected = render_all(sel.selection_set)
            out[key] = projected
        elif sel.name.value == "edges":
            edges = []
            inner_sel = collect_fields(ctx, sel.selection_set, "Edge")
            node_sel = next((i for i in inner_sel if i.name.value == "node"), None)
            rendered = render_all(node_sel.selection_set) if node_sel is not None else [None] * len(nodes)
            for cursor, item in zip(cursors, rendered, strict=True):
                edge: Node = {}
                for i in inner_sel:
                    k = i.alias.value if i.alias else i.name.value
                    edge[k] = cursor if i.name.value == "cursor" else item if i.name.value == "node" else None
                edges.append(edge)
            out[key] = edges
        elif sel.name.value == "pageInfo":
            info = {
                "hasNextPage": bool(has_next),
                "hasPreviousPage": bool(has_previous),
                "startCursor": cursors[0] if cursors else None,
                "endCursor": cursors[-1] if cursors else None,
            }
            out[key] = {
                (i.alias.value if i.alias else i.name.value): (
                    "PageInfo" if i.name.value == "__typename" else info[i.name.value]
                )
                for i in collect_fields(ctx, sel.selection_set, "PageInfo")
            }
        elif sel.name.value == "__typename":
            out[key] = conn_type.name
    return out


# --- search syntax and root connections -----------------------------------------------------------------------------

_TERM = re.compile(
    r"""\s*(?:(?P<neg>-)?(?P<field>[a-z_]+):(?P<op><=|>=|<|>)?(?P<value>'[^']*'|"[^"]*"|\S+)|(?P<word>\S+))"""
)
SEARCH_FIELDS = {
    "orders": {"updated_at", "created_at", "id", "status", "financial_status", "test"},
    "customers": {"updated_at", "created_at", "id"},
    "products": {"updated_at", "created_at", "id", "product_type", "status"},
    "abandonedCheckouts": {"updated_at", "created_at", "id", "status"},
}


@dataclass(frozen=True)
class Term:
    field: str
    op: str  # = >= > <= <
    value: str
    negated: bool = False


def parse_search(root: str, text: str | None, warnings: list[dict[str, Any]]) -> list[Term]:
    terms: list[Term] = []
    if not text:
        return terms
    pos = 0
    while pos < len(text):
        m = _TERM.match(text, pos)
        if not m or m.end() == pos:
            break
        pos = m.end()
        if m.group("word"):
            if m.group("word").upper() not in ("AND",):
                warnings.append(
                    {"field": None, "message": f"Free-text search is not supported here: {m.group('word')}"}
                )
            continue
        name = m.group("field")
        value = m.group("value").strip("'\"")
        if name not in SEARCH_FIELDS[root]:
            warnings.append({"field": name, "message": "Invalid search field for this query."})
            continue
        terms.append(Term(name, m.group("op") or "=", value, bool(m.group("neg"))))
    return terms


def _compare(left: Any, op: str, right: Any) -> bool:
    return {
        "=": left == right,
        ">=": left >= right,
        ">": left > right,
        "<=": left <= right,
        "<": left < right,
    }[op]


def _keep(root: str, term: Term, row: Any, world: World) -> bool:
    spec = ROOTS[root]
    if term.field in ("updated_at", "created_at"):
        when = spec["updated" if term.field == "updated_at" else "created"](row, world)
        try:
            bound = parse_time(term.value)
        except ValueError as exc:
            raise QueryError(f"Invalid date: {term.value}", "BAD_REQUEST") from exc
        return _compare(when, term.op, bound)
    if term.field == "id":
        parsed = parse_gid(term.value)
        ident = parsed[1] if parsed else int(term.value) if term.value.isdigit() else -1
        return _compare(spec["id"](row), term.op, ident)
    if root == "orders" and term.field == "status":
        from sandbox.shopify_api import ARCHIVE_AFTER

        if term.value == "any":
            return True
        closed = row.cancelled_at is None and row.created_at + ARCHIVE_AFTER < world.config.now
        if term.value == "cancelled":
            return row.cancelled_at is not None
        if term.value == "closed":
            return closed
        return row.cancelled_at is None and not closed if term.value == "open" else False
    if root == "orders" and term.field == "test":
        return str(row.test).lower() == term.value.lower()
    if root == "orders" and term.field == "financial_status":
        refunded = bool(row.refunds)
        return term.value.lower() in (("refunded", "partially_refunded") if refunded else ("paid",))
    if root == "products" and term.field == "product_type":
        return row.product_type.lower() == term.value.lower()
    return True  # status of products / checkouts: every product is active, every checkout open


def matching(ctx: Context, root: str, args: dict[str, Any]) -> tuple[list[Any], Any]:
    """The root's rows matching ``query``, sorted by ``sortKey`` (then id); with the sort-key function."""
    world = ctx.world
    spec = ROOTS[root]
    terms = parse_search(root, args.get("query"), ctx.search_warnings)
    sort_key = args.get("sortKey") or "ID"
    if sort_key == "UPDATED_AT":
        key = lambda r: (spec["updated"](r, world).isoformat(), spec["id"](r))
    elif sort_key in ("CREATED_AT", "PROCESSED_AT"):
        key = lambda r: (spec["created"](r, world).isoformat(), spec["id"](r))
    else:
        key = lambda r: ("", spec["id"](r))
    cache_key = (root, "graphql", sort_key, tuple(terms))

    def build() -> list[Any]:
        rows = _by_updated(world, root, terms)
        rows = [r for r in rows if all(_keep(root, t, r, world) != t.negated for t in terms)]
        return sorted(rows, key=key)

    return world.commerce.cached(cache_key, build), key


def _by_updated(world: World, root: str, terms: list[Term]) -> list[Any]:
    """Rows narrowed through an updated_at index when the search bounds it (the incremental runs' case)."""
    spec = ROOTS[root]
    rows = spec["rows"](world)
    low = [t for t in terms if t.field == "updated_at" and t.op in (">=", ">") and not t.negated]
    if not low:
        return list(rows)
    index = world.commerce.cached(
        (root, "graphql_by_updated"),
        lambda: sorted(((spec["updated"](r, world), spec["id"](r), r) for r in rows), key=lambda x: (x[0], x[1])),
    )
    stamps = world.commerce.cached((root, "graphql_by_updated_stamps"), lambda: [u for u, _, _ in index])
    try:
        bound = max(parse_time(t.value) for t in low)
    except ValueError as exc:
        raise QueryError(f"Invalid date: {low[0].value}", "BAD_REQUEST") from exc
    return [r for _, _, r in index[bisect_left(stamps, bound) :]]


def root_connection(ctx: Context, root: str, args: dict[str, Any], node: FieldNode, conn_type: Any) -> Node:
    ctx.actual += 2
    rows, key = matching(ctx, root, args)
    keys = ctx.world.commerce.cached((root, "graphql_keys", id(rows)), lambda: [key(r) for r in rows])
    size, backwards = page_args(ctx, args, node)
    reverse = bool(args.get("reverse"))
    order = list(range(len(rows)))
    lo, hi = 0, len(rows)
    if not reverse:
        if args.get("after"):
            lo = bisect_right(keys, tuple(decode(args["after"])))
        if args.get("before"):
            hi = bisect_left(keys, tuple(decode(args["before"])))
        chosen = order[lo:hi][-size:] if backwards else order[lo:hi][:size]
        has_next = bool(chosen) and chosen[-1] < len(rows) - 1
        has_prev = bool(chosen) and chosen[0] > 0
    else:
        if args.get("after"):
            hi = bisect_left(keys, tuple(decode(args["after"])))
        if args.get("before"):
            lo = bisect_right(keys, tuple(decode(args["before"])))
        window = order[lo:hi][::-1]
        chosen = window[-size:] if backwards else window[:size]
        has_next = bool(chosen) and chosen[-1] > 0
        has_prev = bool(chosen) and chosen[0] < len(rows) - 1
    spec = ROOTS[root]
    nodes = [spec["render"](rows[i], ctx.world, ctx.heavy_seed) for i in chosen]
    cursors = [encode(list(keys[i])) for i in chosen]
    return shape(ctx, nodes, cursors, has_next, has_prev, node, conn_type)


def count_of(ctx: Context, root: str, args: dict[str, Any]) -> Node:
    rows, _ = matching(ctx, root, args)
    limit = args.get("limit")
    n = len(rows)
    if limit is not None and n > limit:
        return {"count": limit, "precision": "AT_LEAST"}
    return {"count": n, "precision": "EXACT"}


# --- lookups by global id ---------------------------------------------------------------------------------------


def node_by_id(ctx: Context, value: str) -> Node | None:
    parsed = parse_gid(value)
    if parsed is None:
        raise QueryError(f"Invalid global id '{value}'", "argumentLiteralsIncompatible")
    kind, ident = parsed
    world = ctx.world
    if kind == "BulkOperation":
        from sandbox import shopify_bulk

        return shopify_bulk.operation_node(ctx, ident)
    for root, spec in ROOTS.items():
        if spec["kind"] == kind:
            by_id = world.commerce.cached(
                (root, "graphql_by_id"), lambda spec=spec: {spec["id"](r): r for r in spec["rows"](world)}
            )
            row = by_id.get(ident)
            return None if row is None else spec["render"](row, world, ctx.heavy_seed)
    if kind == "Refund":
        index = world.commerce.cached(
            ("shopify", "refund_orders"), lambda: {r.refund_id: o for o in world.shopify_orders for r in o.refunds}
        )
        order = index.get(ident)
        if order is None:
            return None
        node = ROOTS["orders"]["render"](order, world, ctx.heavy_seed)
        return next((r for r in node["refunds"] if r["id"] == value), None)
    if kind == "ProductVariant":
        from sandbox.shopify_nodes import variant_node

        by_variant = world.commerce.cached(("shopify", "by_variant"), lambda: {p.variant_id: p for p in world.products})
        p = by_variant.get(ident)
        return None if p is None else variant_node(p, world)
    return None


# --- the root fields -----------------------------------------------------------------------------------------------


def execute_root(ctx: Context, op: OperationDefinitionNode) -> Node:
    parent = MUTATION_ROOT if op.operation.value == "mutation" else QUERY_ROOT
    data: Node = {}
    for node in collect_fields(ctx, op.selection_set, parent.name):
        name = node.name.value
        key = node.alias.value if node.alias else name
        if name == "__typename":
            data[key] = parent.name
            continue
        fdef = parent.fields[name]
        args = args_of(ctx, parent, node)
        named = get_named_type(fdef.type)
        value: Any
        if name in ROOTS:
            data[key] = root_connection(ctx, name, args, node, named)
            continue
        if name.endswith("sCount") or name == "abandonedCheckoutsCount":
            root = "abandonedCheckouts" if name == "abandonedCheckoutsCount" else name[: -len("Count")]
            value = count_of(ctx, root, args)
        elif name in ("order", "customer", "product", "node"):
            value = node_by_id(ctx, args["id"])
        elif name == "nodes":
            ids = args["ids"]
            if len(ids) > MAX_PAGE:
                raise QueryError(
                    f"The input array size of {len(ids)} is greater than the maximum allowed of {MAX_PAGE}.",
                    "MAX_INPUT_SIZE_EXCEEDED",
                    ["nodes", "ids"],
                )
            data[key] = [
                None
                if (n := node_by_id(ctx, i)) is None
                else project(ctx, n, _object_type(named, n), node.selection_set)
                for i in ids
            ]
            continue
        elif name == "shop":
            value = shop_node()
        elif name in ("bulkOperation", "currentBulkOperation", "bulkOperationRunQuery", "bulkOperationCancel"):
            from sandbox import shopify_bulk

            value = shopify_bulk.root_field(ctx, name, args)
        else:
            raise QueryError(f"Field '{name}' is not served by the sandbox", "undefinedField")
        data[key] = None if value is None else project(ctx, value, _object_type(fdef.type, value), node.selection_set)
    return data


def shop_node() -> Node:
    from sandbox.shopify_api import SHOP_ID

    return {
        "__typename": "Shop",
        "id": f"gid://shopify/Shop/{SHOP_ID}",
        "name": "PastaPro",
        "currencyCode": "USD",
        "ianaTimezone": "America/New_York",
        "myshopifyDomain": "pastapro.myshopify.com",
        "enabledPresentmentCurrencies": ["CAD", "EUR", "GBP", "USD"],
    }


# --- the endpoint ----------------------------------------------------------------------------------------------------


def _limits(app: Any) -> Any:
    return app.limiter.bucket(COST_BUCKET) if app is not None else None


def throttle_status(bucket: Any) -> dict[str, float]:
    if bucket is None or not hasattr(bucket, "level"):
        capacity = float(getattr(bucket, "capacity", 100_000.0))
        return {
            "maximumAvailable": capacity,
            "currentlyAvailable": capacity,
            "restoreRate": float(getattr(bucket, "refill_per_s", 100_000.0)),
        }
    return {
        "maximumAvailable": float(bucket.capacity),
        "currentlyAvailable": float(int(bucket.level())),
        "restoreRate": float(bucket.refill_per_s),
    }


def _cost(requested: int, actual: int | None, bucket: Any) -> dict[str, Any]:
    return {
        "cost": {"requestedQueryCost": requested, "actualQueryCost": actual, "throttleStatus": throttle_status(bucket)}
    }


def graphql(req: Request, world: World, version: str, app: Any = None) -> Response:
    try:
        body = req.json()
    except ValueError:
        return Response(400, {"errors": [{"message": "Invalid JSON in request body"}]})
    if isinstance(body, dict) and "query" not in body:
        return Response(400, {"errors": {"query": "Required parameter missing or invalid"}})
    text = body.get("query") if isinstance(body, dict) else None
    if not isinstance(text, str):
        return Response(400, {"errors": {"query": "Required parameter missing or invalid"}})
    parsed = parse_query(text)
    if parsed.document is None:
        return Response(200, {"errors": list(parsed.errors)})
    variables_in = body.get("variables") or {}
    try:
        op = operation_of(parsed.document, body.get("operationName"))
    except QueryError as exc:
        return Response(200, {"errors": [exc.as_dict()]})
    coerced = get_variable_values(SCHEMA, op.variable_definitions or [], variables_in)
    if isinstance(coerced, list):
        return Response(200, {"errors": [e.formatted for e in coerced]})
    heavy = world.config.seed if app is not None and getattr(app, "fault_mode", "none") == "heavy" else None
    ctx = Context(world, parsed.document, coerced, heavy_seed=heavy, app=app, version=version, base_url=req.base_url)
    bucket = _limits(app)
    try:
        requested = (
            MUTATION_COST if op.operation.value == "mutation" else requested_cost(ctx, QUERY_ROOT, op.selection_set)
        )
    except QueryError as exc:
        return Response(200, {"errors": [exc.as_dict()]})
    if requested > MAX_QUERY_COST:
        return Response(
            200,
            {
                "errors": [
                    {
                        "message": f"Query cost is {requested}, which exceeds the single query max cost limit "
                        f"({MAX_QUERY_COST}).\n\nSee {RATE_LIMIT_DOCS} for more information on how the cost of "
                        "a query is calculated.\n\nTo query larger amounts of data with fewer limits, bulk "
                        "operations should be used instead.\nSee https://shopify.dev/tutorials/perform-bulk-"
                        "operations-with-admin-api for usage details.\n",
                        "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": MAX_QUERY_COST},
                    }
                ]
            },
        )
    if bucket is not None and hasattr(bucket, "take_amount"):
        allowed, _ = bucket.take_amount(requested)
        if not allowed:
            return Response(
                200,
                {
                    "errors": [
                        {
                            "message": "Throttled",
                            "extensions": {"code": "THROTTLED", "documentation": RATE_LIMIT_DOCS},
                        }
                    ],
                    "extensions": _cost(requested, None, bucket),
                },
            )
    try:
        data = execute_root(ctx, op)
    except QueryError as exc:
        if bucket is not None and hasattr(bucket, "give"):
            bucket.give(requested)
        return Response(200, {"data": None, "errors": [exc.as_dict()], "extensions": _cost(requested, None, bucket)})
    actual = MUTATION_COST if op.operation.value == "mutation" else min(ctx.actual, requested)
    if bucket is not None and hasattr(bucket, "give"):
        bucket.give(requested - actual)
    extensions = _cost(requested, actual, bucket)
    if ctx.search_warnings:
        extensions["search"] = [{"path": [], "query": "", "warnings": ctx.search_warnings}]
    return Response(200, {"data": data, "extensions": extensions})


graphql.wants_app = True  # type: ignore[attr-defined]
