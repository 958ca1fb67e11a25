-- One row per Shopify order (raw_shopify.orders from the GraphQL Admin API, latest version of each id). The amounts
-- are the order's current ones (current*Set: after order edits), in shop currency; the session that placed it is
-- the journey's last visit (landing page URL, referrer).
with deduplicated as (
    {{ deduplicate(source('raw_shopify', 'orders'), 'id', 'updated_at desc, _dlt_load_id desc') }}
)

select
    cast(legacy_resource_id as bigint) as order_id,
    name as order_name,
    cast(created_at as timestamp with time zone) as created_at,
    cast(updated_at as timestamp with time zone) as updated_at,
    cast(cancelled_at as timestamp with time zone) as cancelled_at,
    cast(closed_at as timestamp with time zone) as closed_at,
    cast(customer__legacy_resource_id as bigint) as customer_id,
    email,
    currency_code as currency,
    presentment_currency_code as presentment_currency,
    lower(display_financial_status) as financial_status,
    coalesce(test, false) as is_test,
    cancelled_at is not null as is_cancelled,
    {{ to_money('current_subtotal_price_set__shop_money__amount') }}
    + {{ to_money('current_total_discounts_set__shop_money__amount') }} as total_line_items_price,
    {{ to_money('current_total_discounts_set__shop_money__amount') }} as total_discounts,
    {{ to_money('current_subtotal_price_set__shop_money__amount') }} as subtotal_price,
    {{ to_money('current_total_tax_set__shop_money__amount') }} as total_tax,
    {{ to_money('current_total_price_set__shop_money__amount') }} as total_price,
    -- the web session that placed the order: its landing page (path + query string with the UTM parameters), referrer
    cast({{ url_path_and_query('customer_journey_summary__last_visit__landing_page') }} as varchar) as landing_site,
    cast(nullif(customer_journey_summary__last_visit__referrer_url, '') as varchar) as referring_site,
    cast({{ url_query_param('customer_journey_summary__last_visit__landing_page', 'utm_source') }} as varchar)
        as utm_source,
    cast({{ url_query_param('customer_journey_summary__last_visit__landing_page', 'utm_medium') }} as varchar)
        as utm_medium,
    cast({{ url_query_param('customer_journey_summary__last_visit__landing_page', 'utm_campaign') }} as varchar)
        as utm_campaign,
    cast({{ url_query_param('customer_journey_summary__last_visit__landing_page', 'utm_id') }} as varchar) as utm_id,
    cast({{ url_host('customer_journey_summary__last_visit__referrer_url') }} as varchar) as referring_host,
    _dlt_id as dlt_id,
    _dlt_load_id as dlt_load_id
from deduplicated
