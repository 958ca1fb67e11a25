-- One row per refund of a Shopify order (raw_shopify.orders__refunds, 1:1), its order's id from the dlt parent link.
select
    cast(r.legacy_resource_id as bigint) as refund_id,
    o.order_id,
    cast(r.created_at as timestamp with time zone) as created_at,
    {{ to_money('r.total_refunded_set__shop_money__amount') }} as total_refunded,
    r._dlt_id as refund_dlt_id
from {{ source('raw_shopify', 'orders__refunds') }} as r
left join {{ ref('stg_shopify__orders') }} as o on o.dlt_id = r._dlt_parent_id
