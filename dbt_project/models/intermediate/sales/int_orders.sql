{#- Commerce orders of every channel in one shape (amounts in the order's currency), with the rules every
    downstream model reads from here and nowhere else:
    - order_key: the order's surrogate key, hash of channel and source order id;
    - counts_as_sale: neither a test nor a cancelled order (docs/architecture.md, Metric definitions);
    - customer_key / channel_customer_key: the resolved customer and the channel's own customer (identity
      resolution, int_customer_identities). -#}
with orders as (
    select * from {{ ref('int_shopify__orders') }}
    union all
    select * from {{ ref('int_amazon__orders') }}
    union all
    select * from {{ ref('int_ebay__orders') }}
),

identities as (
    select channel, source_id, customer_key, channel_customer_key
    from {{ ref('int_customer_identities') }}
    where channel is not null
)

select
    {{ dbt.hash(dbt.concat(["o.channel", "'|'", "o.order_id"])) }} as order_key,
    o.channel,
    o.order_id,
    o.ordered_at,
    cast(o.ordered_at as date) as order_date,
    o.customer_ref,
    i.customer_key,
    i.channel_customer_key,
    o.currency,
    o.is_test,
    o.is_cancelled,
    not o.is_test and not o.is_cancelled as counts_as_sale,
    o.gross_sales,
    o.discounts,
    o.updated_at
from orders as o
left join identities as i on i.channel = o.channel and i.source_id = o.customer_ref
