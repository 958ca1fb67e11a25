-- One row per Shopify abandoned checkout (raw_shopify.abandoned_checkouts, latest version of each id), money as
-- DECIMAL(18,2) in shop currency, timestamps in UTC, the session's UTM parameters and referrer parsed like the
-- orders'. The session comes from the cart's attributes (landing_site, referring_site: the theme records them);
-- a guest's email too (email). PII: the email is kept only as email_hash (normalized as identity resolution
-- does, then hashed).
{%- set email = "coalesce(c.customer__default_email_address__email_address, a.guest_email)" %}
{%- set stripped = "replace(replace(replace(" ~ email ~ ", '" ~ "\t" ~ "', ''), '"
    ~ "\r" ~ "', ''), '" ~ "\n" ~ "', '')" %}
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
),

attributes as (
    select
        _dlt_parent_id as checkout_dlt_id,
        max(case when key = 'landing_site' then value end) as landing_site,
        max(case when key = 'referring_site' then value end) as referring_site,
        max(case when key = 'email' then value end) as guest_email
    from {{ source('raw_shopify', 'abandoned_checkouts__custom_attributes') }}
    group by _dlt_parent_id
)

select
    {{ shopify_numeric_id('c.id') }} as checkout_id,
    -- the cart token: the recovery URL's path segment after /checkouts/
    cast({{ dbt.split_part(dbt.split_part('c.abandoned_checkout_url', "'/checkouts/'", 2), "'/'", 1) }} as varchar)
        as checkout_token,
    cast(c.created_at as timestamp with time zone) as created_at,
    cast(c.updated_at as timestamp with time zone) as updated_at,
    cast(c.completed_at as timestamp with time zone) as completed_at,
    cast(null as timestamp with time zone) as closed_at,
    cast(c.customer__legacy_resource_id as bigint) as customer_id,
    cast(case when {{ normalized }} <> '' then {{ dbt.hash(normalized) }} end as varchar) as email_hash,
    cast(c.total_price_set__shop_money__currency_code as varchar) as currency,
    cast(c.total_price_set__presentment_money__currency_code as varchar) as presentment_currency,
    {{ to_money('c.subtotal_price_set__shop_money__amount') }} as subtotal_price,
    {{ to_money('c.total_discount_set__shop_money__amount') }} as total_discounts,
    {{ to_money('c.total_tax_set__shop_money__amount') }} as total_tax,
    {{ to_money('c.total_price_set__shop_money__amount') }} as total_price,
    cast(coalesce(l.line_items_count, 0) as integer) as line_items_count,
    cast(coalesce(l.items_quantity, 0) as integer) as items_quantity,
    cast(a.landing_site as varchar) as landing_site,
    cast(nullif(a.referring_site, '') as varchar) as referring_site,
    cast({{ url_query_param('a.landing_site', 'utm_source') }} as varchar) as utm_source,
    cast({{ url_query_param('a.landing_site', 'utm_medium') }} as varchar) as utm_medium,
    cast({{ url_query_param('a.landing_site', 'utm_campaign') }} as varchar) as utm_campaign,
    cast({{ url_query_param('a.landing_site', 'utm_id') }} as varchar) as utm_id,
    cast({{ url_host('a.referring_site') }} as varchar) as referring_host,
    cast(c._dlt_id as varchar) as dlt_id
from deduplicated as c
left join lines as l on l.checkout_dlt_id = c._dlt_id
left join attributes as a on a.checkout_dlt_id = c._dlt_id
