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
    -- the web session that placed the order: its landing page (query string with the UTM parameters) and referrer
    landing_site,
    nullif(referring_site, '') as referring_site,
    {{ url_query_param('landing_site', 'utm_source') }} as utm_source,
    {{ url_query_param('landing_site', 'utm_medium') }} as utm_medium,
    {{ url_query_param('landing_site', 'utm_campaign') }} as utm_campaign,
    {{ url_query_param('landing_site', 'utm_id') }} as utm_id,
    {{ url_host('referring_site') }} as referring_host,
    _dlt_id as dlt_id,
    _dlt_load_id as dlt_load_id
from deduplicated
