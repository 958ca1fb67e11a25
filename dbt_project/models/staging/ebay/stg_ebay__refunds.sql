-- One row per refund of an eBay order (raw_ebay.orders__payment_summary__refunds, 1:1), with its order's id
-- resolved here from the dlt parent link (the order version staging keeps).
select
    cast(r.refund_id as varchar) as refund_id,
    r._dlt_parent_id as order_dlt_id,
    cast(r.refund_date as timestamp with time zone) as refunded_at,
    {{ to_money('r.amount__value') }} as amount,
    cast(r.amount__currency as varchar) as currency,
    cast(r.refund_status as varchar) as refund_status,
    o.order_id
from {{ source('raw_ebay', 'orders__payment_summary__refunds') }} as r
left join {{ ref('stg_ebay__orders') }} as o on o.dlt_id = r._dlt_parent_id
