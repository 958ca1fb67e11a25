{{ config(materialized='view') }}
{#- eBay line items in the conformed line shape (int_order_lines): lineItemCost is already the line total. -#}
select
    'ebay' as channel,
    o.order_id,
    l.line_item_id as line_id,
    l.sku,
    cast(l.quantity as integer) as quantity,
    l.line_item_cost as gross_sales,
    coalesce(l.currency, o.currency) as currency
from {{ ref('stg_ebay__order_line_items') }} as l
inner join {{ ref('stg_ebay__orders') }} as o on o.order_id = l.order_id
