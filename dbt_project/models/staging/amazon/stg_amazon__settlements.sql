-- One row per Amazon settlement (the summary row of its GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2 report; raw
-- merged on settlement_id, so 1:1 and unique). Empty until the first settlement is loaded (macros/raw_relation.sql).
-- depends_on: {{ source('raw_amazon', 'settlements') }}
{%- if raw_table_exists('raw_amazon', 'settlements') %}
    select
        cast(settlement_id as varchar) as settlement_id,
        cast(report_id as varchar) as report_id,
        cast(marketplace_id as varchar) as marketplace_id,
        cast(settlement_start_at as timestamp with time zone) as settlement_start_at,
        cast(settlement_end_at as timestamp with time zone) as settlement_end_at,
        cast(deposit_at as timestamp with time zone) as deposit_at,
        {{ to_money('total_amount') }} as total_amount,
        cast(currency as varchar) as currency
    from {{ source('raw_amazon', 'settlements') }}
{%- else %}
    select
        cast(null as varchar) as settlement_id,
        cast(null as varchar) as report_id,
        cast(null as varchar) as marketplace_id,
        cast(null as timestamp with time zone) as settlement_start_at,
        cast(null as timestamp with time zone) as settlement_end_at,
        cast(null as timestamp with time zone) as deposit_at,
        cast(null as decimal(18, 2)) as total_amount,
        cast(null as varchar) as currency
    where false
{%- endif %}
