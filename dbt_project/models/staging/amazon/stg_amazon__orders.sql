with deduplicated as (
    {{ deduplicate(source('raw_amazon', 'orders'), 'amazon_order_id', 'last_update_date desc, _dlt_load_id desc') }}
)

select
    amazon_order_id as order_id,
    marketplace_id,
    sales_channel,
    cast(purchase_date as timestamp with time zone) as purchased_at,
    cast(last_update_date as timestamp with time zone) as updated_at,
    order_status,
    order_status = 'Canceled' as is_cancelled,
    order_total__currency_code as order_total_currency,
    {{ to_money('order_total__amount') }} as order_total,
    buyer_info__buyer_email as buyer_email,
    _dlt_id as dlt_id
from deduplicated
