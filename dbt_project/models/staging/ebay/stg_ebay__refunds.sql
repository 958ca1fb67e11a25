select
    cast(refund_id as varchar) as refund_id,
    _dlt_parent_id as order_dlt_id,
    cast(refund_date as timestamp with time zone) as refunded_at,
    {{ to_money('amount__value') }} as amount,
    cast(amount__currency as varchar) as currency,
    cast(refund_status as varchar) as refund_status
from {{ source('raw_ebay', 'orders__payment_summary__refunds') }}
