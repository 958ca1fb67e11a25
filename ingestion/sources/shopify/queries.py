"""What the source asks Shopify's GraphQL Admin API for: one selection per record type, rendered either as a
bulk operation's query (connections as ``edges { node }``, unpaged) or as a paged query (connections with
``first``/``after`` and ``pageInfo``). Both paths load the same shapes: a record with its connections' nodes as
lists under the connection's name (``lineItems: [...]``), so dlt writes the same tables either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MONEY = "{ shopMoney { amount currencyCode } presentmentMoney { amount currencyCode } }"


def money(*names: str) -> str:
    return " ".join(f"{n} {MONEY}" for n in names)


@dataclass(frozen=True)
class Selection:
    """The fields of one type: ``fields`` (scalars, objects, lists without connections), ``connections`` (field ->
    the nodes' selection) and ``lists`` (list-of-object fields whose items hold connections: an order's refunds)."""

    typename: str
    fields: str
    connections: dict[str, Selection] = field(default_factory=dict)
    lists: dict[str, Selection] = field(default_factory=dict)

    def bulk(self) -> str:
        parts = [self.fields]
        parts += [f"{name} {{ {inner.bulk()} }}" for name, inner in self.lists.items()]
        parts += [
            f"{name} {{ edges {{ node {{ __typename {inner.bulk()} }} }} }}" for name, inner in self.connections.items()
        ]
        return " ".join(parts)

    def paged(self, page: int) -> str:
        parts = [self.fields]
        parts += [f"{name} {{ {inner.paged(page)} }}" for name, inner in self.lists.items()]
        parts += [
            f"{name}(first: {page}) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ __typename {inner.paged(page)} }} }}"
            for name, inner in self.connections.items()
        ]
        return " ".join(parts)


LINE_ITEM = Selection(
    "LineItem",
    "id name title sku vendor quantity currentQuantity refundableQuantity taxable requiresShipping "
    + money("originalUnitPriceSet", "discountedUnitPriceSet", "originalTotalSet", "totalDiscountSet")
    + f" discountAllocations {{ allocatedAmountSet {MONEY} }}"
    " variant { id legacyResourceId } product { id legacyResourceId }",
)
DISCOUNT_APPLICATION = Selection(
    "DiscountApplication",
    "allocationMethod index targetSelection targetType"
    " value { ... on MoneyV2 { amount currencyCode } ... on PricingPercentageValue { percentage } }"
    " ... on DiscountCodeApplication { code }",
)
SHIPPING_LINE = Selection("ShippingLine", "id title code source " + money("originalPriceSet", "discountedPriceSet"))
REFUND_LINE_ITEM = Selection(
    "RefundLineItem",
    "id quantity restockType restocked " + money("priceSet", "subtotalSet", "totalTaxSet") + " lineItem { id }",
)
REFUND = Selection(
    "Refund",
    "id legacyResourceId createdAt note " + money("totalRefundedSet"),
    connections={"refundLineItems": REFUND_LINE_ITEM},
)
ORDER = Selection(
    "Order",
    "id legacyResourceId name email createdAt updatedAt processedAt closedAt cancelledAt cancelReason closed test"
    " currencyCode presentmentCurrencyCode displayFinancialStatus displayFulfillmentStatus taxesIncluded sourceName"
    " subtotalLineItemsQuantity currentSubtotalLineItemsQuantity "
    + money(
        "totalPriceSet",
        "subtotalPriceSet",
        "totalDiscountsSet",
        "totalTaxSet",
        "totalShippingPriceSet",
        "totalRefundedSet",
        "currentTotalPriceSet",
        "currentSubtotalPriceSet",
        "currentTotalDiscountsSet",
        "currentTotalTaxSet",
    )
    + " customer { id legacyResourceId }"
    " customerJourneySummary { lastVisit { landingPage referrerUrl source"
    " utmParameters { source medium campaign content term } } }"
    f" transactions {{ id kind status gateway test createdAt processedAt amountSet {MONEY} parentTransaction {{ id }} }}",
    connections={
        "lineItems": LINE_ITEM,
        "discountApplications": DISCOUNT_APPLICATION,
        "shippingLines": SHIPPING_LINE,
    },
    lists={"refunds": REFUND},
)
CUSTOMER = Selection(
    "Customer",
    "id legacyResourceId defaultEmailAddress { emailAddress } firstName lastName displayName createdAt updatedAt"
    " numberOfOrders amountSpent { amount currencyCode } state note verifiedEmail taxExempt tags locale"
    " lastOrder { id legacyResourceId name }",
)
VARIANT = Selection(
    "ProductVariant",
    "id legacyResourceId title sku barcode price compareAtPrice position taxable inventoryPolicy createdAt updatedAt"
    " inventoryItem { id legacyResourceId tracked createdAt updatedAt unitCost { amount currencyCode } }",
)
PRODUCT = Selection(
    "Product",
    "id legacyResourceId title handle vendor productType status templateSuffix createdAt updatedAt publishedAt",
    connections={"variants": VARIANT},
)
CHECKOUT_LINE_ITEM = Selection(
    "AbandonedCheckoutLineItem",
    "id title variantTitle sku quantity "
    + money("originalUnitPriceSet", "originalTotalPriceSet", "discountedTotalPriceSet")
    + " variant { id legacyResourceId } product { id legacyResourceId }",
)
CHECKOUT = Selection(
    "AbandonedCheckout",
    "id name abandonedCheckoutUrl createdAt updatedAt completedAt note taxesIncluded"
    " customAttributes { key value } customer { id legacyResourceId defaultEmailAddress { emailAddress } } "
    + money("subtotalPriceSet", "totalDiscountSet", "totalLineItemsPriceSet", "totalPriceSet", "totalTaxSet"),
    connections={"lineItems": CHECKOUT_LINE_ITEM},
)

# the root connection of each resource and its selection
ROOTS: dict[str, tuple[str, Selection]] = {
    "orders": ("orders", ORDER),
    "customers": ("customers", CUSTOMER),
    "products": ("products", PRODUCT),
    "abandoned_checkouts": ("abandonedCheckouts", CHECKOUT),
}
# a nested connection's field, by the __typename of its nodes (how bulk lines find their place in their parent)
CONNECTION_OF_TYPE = {
    "LineItem": "lineItems",
    "DiscountCodeApplication": "discountApplications",
    "AutomaticDiscountApplication": "discountApplications",
    "ManualDiscountApplication": "discountApplications",
    "ScriptDiscountApplication": "discountApplications",
    "ShippingLine": "shippingLines",
    "RefundLineItem": "refundLineItems",
    "ProductVariant": "variants",
    "AbandonedCheckoutLineItem": "lineItems",
}


def bulk_query(root: str, search: str | None) -> str:
    field_name, selection = ROOTS[root]
    args = f'(query: "{search}")' if search else ""
    return f"{{ {field_name}{args} {{ edges {{ node {{ {selection.bulk()} }} }} }} }}"


def page_query(root: str, page: int, inner_page: int) -> str:
    field_name, selection = ROOTS[root]
    return (
        f"query Page($first: Int!, $after: String, $query: String) {{ {field_name}(first: $first, after: $after, "
        f"query: $query, sortKey: UPDATED_AT) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {selection.paged(inner_page)} }} }} }}"
    )


def drain_query(typename: str, connection: str, selection: Selection, page: int) -> str:
    """The rest of one record's connection, from a cursor on (``node(id:)``), ``page`` nodes at a time."""
    return (
        f"query Drain($id: ID!, $after: String) {{ node(id: $id) {{ ... on {typename} {{ {connection}(first: {page}, "
        f"after: $after) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ __typename {selection.paged(page)} }} }} }} }} }}"
    )
