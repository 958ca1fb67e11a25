{#- Order lines of every commerce channel in one shape (line currency), with their order's key, date,
    customer and counts_as_sale from int_orders. -#}
with lines as (
    select * from {{ ref('int_shopify__order_lines') }}
    union all
    select * from {{ ref('int_amazon__order_lines') }}
    union all
    select * from {{ ref('int_ebay__order_lines') }}
)

select
    {{ dbt.hash(dbt.concat(["l.channel", "'|'", "l.order_id", "'|'", "l.line_id"])) }} as order_line_key,
    o.order_key,
    case when l.sku is not null then {{ dbt.hash(dbt.concat(["'sku|'", "l.sku"])) }} end as product_key,
    o.customer_key,
    l.channel,
    l.order_id,
    l.line_id,
    l.sku,
    o.order_date,
    l.quantity,
    l.currency,
    o.counts_as_sale,
    l.gross_sales
from lines as l
left join {{ ref('int_orders') }} as o on o.channel = l.channel and o.order_id = l.order_id
