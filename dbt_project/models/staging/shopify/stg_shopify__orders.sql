with deduplicated as (
    {{ deduplicate(source('raw_shopify', 'orders'), 'id', 'updated_at desc, _dlt_load_id desc') }}
)

select
    id as order_id,
    name as order_name,
    cast(created_at as timestamp with time zone) as created_at,
    cast(updated_at as timestamp with time zone) as updated_at,
    cast(cancelled_at as timestamp with time zone) as cancelled_at,
    cast(closed_at as timestamp with time zone) as closed_at,
    customer__id as customer_id,
    email,
    currency,
    presentment_currency,
    financial_status,
    coalesce(test, false) as is_test,
    cancelled_at is not null as is_cancelled,
    {{ to_money('total_line_items_price') }} as total_line_items_price,
    {{ to_money('total_discounts') }} as total_discounts,
    {{ to_money('subtotal_price') }} as subtotal_price,
    {{ to_money('total_tax') }} as total_tax,
    {{ to_money('total_price') }} as total_price,
    _dlt_id as dlt_id,
    _dlt_load_id as dlt_load_id
from deduplicated
