with deduplicated as (
    {{ deduplicate(source('raw_ebay', 'orders'), 'order_id', 'last_modified_date desc, _dlt_load_id desc') }}
)

select
    cast(order_id as varchar) as order_id,
    cast(creation_date as timestamp with time zone) as created_at,
    cast(last_modified_date as timestamp with time zone) as updated_at,
    coalesce(cancel_status__cancel_state = 'CANCELED', false) as is_cancelled,
    cast(pricing_summary__total__currency as varchar) as currency,
    -- eBay shows a seller promotion as a negative priceDiscount: a positive discount here
    coalesce(-{{ to_money('pricing_summary__price_discount__value') }}, {{ to_money(0) }}) as discounts,
    -- the final value fee charged at checkout (credited to 0 when the order is cancelled)
    {{ to_money('total_marketplace_fee__value') }} as marketplace_fee,
    cast(buyer__username as varchar) as buyer_username,
    _dlt_id as dlt_id
from deduplicated
