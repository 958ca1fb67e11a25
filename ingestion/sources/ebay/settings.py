"""eBay Sell Fulfillment: paths and limits."""

TOKEN_PATH = "identity/v1/oauth2/token"
ORDERS_PATH = "sell/fulfillment/v1/order"
MAX_PAGE_SIZE = 200
# getOrders: 100,000 calls a day. eBay sends no rate-limit headers (quotas are in its Analytics API), so
# the pacer stays idle until a 429, then paces at the published daily rate with a burst of 50.
ORDERS_CAPACITY, ORDERS_PER_S = 50, 100_000 / 86_400
# dlt nested tables (child tables) the warehouse reads
NESTED_TABLES = ("orders__line_items", "orders__payment_summary__refunds", "orders__line_items__refunds")
