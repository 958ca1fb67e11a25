{#- One row per order line of every commerce channel (current state of the order), gross in the line's
    currency and in USD at the order date's rate. Rounded per line: Σ lines' gross_sales_usd may differ by
    a cent from fct_orders.gross_sales_usd, which is rounded per order (fct_orders is the revenue figure). -#}
with shopify as (
    select
        'shopify' as channel,
        cast(o.order_id as {{ dbt.type_string() }}) as order_id,
        cast(l.line_item_id as {{ dbt.type_string() }}) as line_id,
        l.sku,
        cast(l.quantity as integer) as quantity,
        l.unit_price * l.quantity as gross_sales,  -- Shopify gives a unit price
        o.currency
    from {{ ref('stg_shopify__order_line_items') }} as l
    inner join {{ ref('stg_shopify__orders') }} as o on o.dlt_id = l.order_dlt_id
),

amazon as (
    select
        'amazon' as channel,
        o.order_id,
        i.order_item_id as line_id,
        i.sku,
        cast(i.quantity_ordered as integer) as quantity,
        i.item_price as gross_sales,  -- ItemPrice is already the line total
        coalesce(i.currency, o.order_total_currency) as currency
    from {{ ref('stg_amazon__order_items') }} as i
    inner join {{ ref('stg_amazon__orders') }} as o on o.dlt_id = i.order_dlt_id
),

ebay as (
    select
        'ebay' as channel,
        o.order_id,
        l.line_item_id as line_id,
        l.sku,
        cast(l.quantity as integer) as quantity,
        l.line_item_cost as gross_sales,  -- lineItemCost is already the line total
        coalesce(l.currency, o.currency) as currency
    from {{ ref('stg_ebay__order_line_items') }} as l
    inner join {{ ref('stg_ebay__orders') }} as o on o.dlt_id = l.order_dlt_id
),

lines as (
    select * from shopify
    union all
    select * from amazon
    union all
    select * from ebay
),

joined as (
    select
        l.*,
        o.order_key,
        o.order_date,
        o.counts_as_sale,
        co.customer_key
    from lines as l
    left join {{ ref('fct_orders') }} as o on o.channel = l.channel and o.order_id = l.order_id
    left join {{ ref('int_customer_orders') }} as co
        on co.channel = l.channel and co.source_order_id = l.order_id
)

select
    {{ dbt.hash(dbt.concat(["l.channel", "'|'", "l.order_id", "'|'", "l.line_id"])) }} as order_line_key,
    l.order_key,
    case when l.sku is not null then {{ dbt.hash(dbt.concat(["'sku|'", "l.sku"])) }} end as product_key,
    l.customer_key,
    l.channel,
    l.order_id,
    l.line_id,
    l.sku,
    l.order_date,
    l.quantity,
    l.currency,
    l.counts_as_sale,
    {{ to_money('l.gross_sales') }} as gross_sales,
    {{ usd_per_unit('r', 'l.currency') }} as usd_per_unit,
    {{ to_usd('l.gross_sales', usd_per_unit('r', 'l.currency')) }} as gross_sales_usd
from joined as l
{{ join_fx_rate('r', 'l.currency', 'l.order_date') }}
