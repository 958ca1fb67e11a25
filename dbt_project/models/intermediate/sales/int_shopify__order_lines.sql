{{ config(materialized='view') }}
{#- Shopify order lines in the conformed line shape (int_order_lines): Shopify gives a unit price. -#}
select
    'shopify' as channel,
    cast(o.order_id as {{ dbt.type_string() }}) as order_id,
    cast(l.line_item_id as {{ dbt.type_string() }}) as line_id,
    l.sku,
    cast(l.quantity as integer) as quantity,
    l.unit_price * l.quantity as gross_sales,
    o.currency
from {{ ref('stg_shopify__order_line_items') }} as l
inner join {{ ref('stg_shopify__orders') }} as o on o.order_id = l.order_id
