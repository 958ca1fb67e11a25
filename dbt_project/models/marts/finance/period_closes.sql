{{ config(materialized='incremental', unique_key=['revenue_month', 'channel'], full_refresh=false,
          on_schema_change='append_new_columns') }}
{#- The published figures of every closed month × channel, written once when the month closes and
    never updated (append-only; full_refresh=false: `dbt build --full-refresh` leaves it alone). New columns are
    appended (cogs_usd, gross_margin_usd): months published before them keep null there (docs/costs.md). -#}
with live as (
    select * from {{ ref('channel_revenue_monthly') }}
)

select
    live.revenue_month,
    live.channel,
    live.orders,
    live.gross_sales_usd,
    live.discounts_usd,
    live.refunds_usd,
    live.net_sales_usd,
    live.marketplace_fees_usd,
    live.net_revenue_usd,
    current_timestamp as closed_at,
    live.cogs_usd,
    live.gross_margin_usd
from live
where
    {{ month_is_closable('live.revenue_month') }}
    {% if is_incremental() %}
        and not exists (
            select 1 from {{ this }} as closed
            where closed.revenue_month = live.revenue_month and closed.channel = live.channel
        )
    {% endif %}
