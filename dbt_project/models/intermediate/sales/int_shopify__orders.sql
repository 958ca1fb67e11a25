{{ config(materialized='view') }}
{#- Shopify orders in the conformed order shape (int_orders), amounts in the shop currency. -#}
with lines as (
    select order_id, sum(unit_price * quantity) as gross_sales
    from {{ ref('stg_shopify__order_line_items') }}
    group by order_id
)

select
    'shopify' as channel,
    cast(o.order_id as varchar) as order_id,
    o.created_at as ordered_at,
    o.currency,
    cast(o.customer_id as varchar) as customer_ref,
    o.is_test,
    o.is_cancelled,
    coalesce(l.gross_sales, 0) as gross_sales,
    o.total_discounts as discounts,
    o.updated_at
from {{ ref('stg_shopify__orders') }} as o
left join lines as l on l.order_id = o.order_id
