-- One row per line of a Shopify order (raw_shopify.orders__line_items, 1:1), with its order's id resolved from the
-- dlt parent link (null only for a line of a superseded raw version). `quantity` is the line's quantity after
-- order edits, the units sold: GraphQL's currentQuantity (after edits and refunds) plus the units refunded
-- (refunds are counted as refunds, not as smaller sales); `ordered_quantity` is the quantity at checkout.
with refunded as (
    select
        _dlt_root_id as order_dlt_id,
        line_item__id as line_item_gid,
        sum(quantity) as refunded_quantity
    from {{ source('raw_shopify', 'orders__refunds__refund_line_items') }}
    group by _dlt_root_id, line_item__id
)

select
    {{ shopify_numeric_id('l.id') }} as line_item_id,
    l._dlt_parent_id as order_dlt_id,
    cast(l.product__legacy_resource_id as bigint) as product_id,
    cast(l.variant__legacy_resource_id as bigint) as variant_id,
    l.sku,
    l.title,
    cast(l.current_quantity + coalesce(r.refunded_quantity, 0) as integer) as quantity,
    cast(l.quantity as integer) as ordered_quantity,
    cast(l.current_quantity as integer) as current_quantity,
    {{ to_money('l.original_unit_price_set__shop_money__amount') }} as unit_price,
    o.order_id
from {{ source('raw_shopify', 'orders__line_items') }} as l
left join refunded as r on r.order_dlt_id = l._dlt_parent_id and r.line_item_gid = l.id
left join {{ ref('stg_shopify__orders') }} as o on o.dlt_id = l._dlt_parent_id
