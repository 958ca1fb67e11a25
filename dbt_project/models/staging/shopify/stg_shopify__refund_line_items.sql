-- One row per line of a Shopify refund (raw_shopify.orders__refunds__refund_line_items, 1:1), with its refund's
-- and order's ids resolved here from the dlt parent link.
select
    rl.id as refund_line_item_id,
    rl._dlt_parent_id as refund_dlt_id,
    rl.line_item_id,
    rl.quantity,
    {{ to_money('rl.subtotal') }} as subtotal,
    {{ to_money('rl.total_tax') }} as total_tax,
    r.refund_id,
    r.order_id
from {{ source('raw_shopify', 'orders__refunds__refund_line_items') }} as rl
left join {{ ref('stg_shopify__refunds') }} as r on r.refund_dlt_id = rl._dlt_parent_id
