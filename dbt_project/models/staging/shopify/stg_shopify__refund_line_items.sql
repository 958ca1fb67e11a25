-- One row per line of a Shopify refund (raw_shopify.orders__refunds__refund_line_items, 1:1), with its refund's
-- and order's ids resolved here from the dlt parent link; money in shop currency.
select
    {{ shopify_numeric_id('rl.id') }} as refund_line_item_id,
    rl._dlt_parent_id as refund_dlt_id,
    {{ shopify_numeric_id('rl.line_item__id') }} as line_item_id,
    cast(rl.quantity as integer) as quantity,
    cast(rl.restock_type as varchar) as restock_type,
    cast(rl.restocked as boolean) as is_restocked,
    {{ to_money('rl.subtotal_set__shop_money__amount') }} as subtotal,
    {{ to_money('rl.total_tax_set__shop_money__amount') }} as total_tax,
    r.refund_id,
    r.order_id
from {{ source('raw_shopify', 'orders__refunds__refund_line_items') }} as rl
left join {{ ref('stg_shopify__refunds') }} as r on r.refund_dlt_id = rl._dlt_parent_id
