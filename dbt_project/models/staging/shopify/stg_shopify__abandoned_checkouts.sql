-- One row per Shopify abandoned checkout (raw_shopify.abandoned_checkouts, latest version of each id), money as
-- DECIMAL(18,2) in shop currency, timestamps in UTC, the session's UTM parameters and referrer parsed like the
-- orders'. PII: the email is kept only as email_hash (normalized as identity resolution does, then hashed).
{%- set stripped = "replace(replace(replace(c.email, '" ~ "\t" ~ "', ''), '" ~ "\r" ~ "', ''), '" ~ "\n" ~ "', '')" %}
{%- set normalized = "lower(trim(" ~ stripped ~ "))" %}

with deduplicated as (
    {{ deduplicate(source('raw_shopify', 'abandoned_checkouts'), 'id', 'updated_at desc, _dlt_load_id desc') }}
),

lines as (
    select
        _dlt_parent_id as checkout_dlt_id,
        count(*) as line_items_count,
        sum(quantity) as items_quantity
    from {{ source('raw_shopify', 'abandoned_checkouts__line_items') }}
    group by _dlt_parent_id
)

select
    cast(c.id as bigint) as checkout_id,
    cast(c.token as varchar) as checkout_token,
    cast(c.created_at as timestamp with time zone) as created_at,
    cast(c.updated_at as timestamp with time zone) as updated_at,
    cast(c.completed_at as timestamp with time zone) as completed_at,
    cast(c.closed_at as timestamp with time zone) as closed_at,
    cast(c.customer__id as bigint) as customer_id,
    cast(case when {{ normalized }} <> '' then {{ dbt.hash(normalized) }} end as varchar) as email_hash,
    cast(c.currency as varchar) as currency,
    cast(c.presentment_currency as varchar) as presentment_currency,
    {{ to_money('c.subtotal_price') }} as subtotal_price,
    {{ to_money('c.total_discounts') }} as total_discounts,
    {{ to_money('c.total_tax') }} as total_tax,
    {{ to_money('c.total_price') }} as total_price,
    cast(coalesce(l.line_items_count, 0) as integer) as line_items_count,
    cast(coalesce(l.items_quantity, 0) as integer) as items_quantity,
    cast(c.landing_site as varchar) as landing_site,
    cast(nullif(c.referring_site, '') as varchar) as referring_site,
    cast({{ url_query_param('c.landing_site', 'utm_source') }} as varchar) as utm_source,
    cast({{ url_query_param('c.landing_site', 'utm_medium') }} as varchar) as utm_medium,
    cast({{ url_query_param('c.landing_site', 'utm_campaign') }} as varchar) as utm_campaign,
    cast({{ url_query_param('c.landing_site', 'utm_id') }} as varchar) as utm_id,
    cast({{ url_host('c.referring_site') }} as varchar) as referring_host,
    cast(c.source_name as varchar) as source_name,
    coalesce(c.buyer_accepts_marketing, false) as buyer_accepts_marketing,
    cast(c.customer_locale as varchar) as customer_locale,
    cast(c._dlt_id as varchar) as dlt_id
from deduplicated as c
left join lines as l on l.checkout_dlt_id = c._dlt_id
