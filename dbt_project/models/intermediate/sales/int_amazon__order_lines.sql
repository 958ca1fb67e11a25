{{ config(materialized='view') }}
{#- Amazon order items in the conformed line shape (int_order_lines): ItemPrice is already the line total. -#}
select
    'amazon' as channel,
    o.order_id,
    i.order_item_id as line_id,
    i.sku,
    cast(i.quantity_ordered as integer) as quantity,
    i.item_price as gross_sales,
    coalesce(i.currency, o.order_total_currency) as currency
from {{ ref('stg_amazon__order_items') }} as i
inner join {{ ref('stg_amazon__orders') }} as o on o.order_id = i.order_id
