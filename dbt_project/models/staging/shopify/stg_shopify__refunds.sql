select
    id as refund_id,
    order_id,
    cast(created_at as timestamp with time zone) as created_at,
    _dlt_id as refund_dlt_id
from {{ source('raw_shopify', 'orders__refunds') }}
