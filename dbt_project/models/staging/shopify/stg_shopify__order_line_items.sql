-- One row per line of a Shopify order (raw_shopify.orders__line_items, 1:1), with its order's id resolved here
-- from the dlt parent link: the order version staging keeps (null only for a line of a superseded raw version).
select
    l.id as line_item_id,
    l._dlt_parent_id as order_dlt_id,
    l.product_id,
    l.variant_id,
    l.sku,
    l.title,
    l.quantity,
    {{ to_money('l.price') }} as unit_price,
    o.order_id
from {{ source('raw_shopify', 'orders__line_items') }} as l
left join {{ ref('stg_shopify__orders') }} as o on o.dlt_id = l._dlt_parent_id
