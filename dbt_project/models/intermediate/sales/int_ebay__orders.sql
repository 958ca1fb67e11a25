{{ config(materialized='view') }}
{#- eBay orders in the conformed order shape (int_orders): lineItemCost summed over line items. -#}
with lines as (
    select order_id, min(currency) as currency, sum(line_item_cost) as gross_sales
    from {{ ref('stg_ebay__order_line_items') }}
    group by order_id
)

select
    'ebay' as channel,
    o.order_id,
    o.created_at as ordered_at,
    coalesce(l.currency, o.currency) as currency,
    o.buyer_username as customer_ref,
    false as is_test,
    o.is_cancelled,
    coalesce(l.gross_sales, 0) as gross_sales,
    o.discounts,
    o.updated_at
from {{ ref('stg_ebay__orders') }} as o
left join lines as l on l.order_id = o.order_id
