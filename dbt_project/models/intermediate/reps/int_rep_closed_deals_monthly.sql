-- Rep (owner at close) × close month: won/lost counts, bookings and the rates derived from them.
with deals as (
    select * from {{ ref('int_deals_attributed') }}
),

aggregated as (
    select
        owner_at_close as rep_id,
        close_month as month_start,
        sum(case when is_won then 1 else 0 end) as deals_won,
        sum(case when is_won then 0 else 1 end) as deals_lost,
        coalesce(sum(case when is_won then amount_usd end), 0) as bookings_usd,
        coalesce(sum(case when is_won then 0 else amount_usd end), 0) as lost_amount_usd,
        avg(case when is_won then cast(cycle_days as {{ dbt.type_numeric() }}) end) as avg_cycle_days
    from deals
    group by owner_at_close, close_month
)

select
    rep_id,
    month_start,
    cast(deals_won as integer) as deals_won,
    cast(deals_lost as integer) as deals_lost,
    cast(bookings_usd as decimal(18, 2)) as bookings_usd,
    cast(lost_amount_usd as decimal(18, 2)) as lost_amount_usd,
    cast(
        case
            when deals_won + deals_lost > 0
                then round(cast(deals_won as decimal(18, 6)) / (deals_won + deals_lost), 4)
        end as decimal(9, 4)
    ) as win_rate,
    cast(
        case
            when bookings_usd + lost_amount_usd > 0
                then round(cast(bookings_usd as decimal(18, 6)) / (bookings_usd + lost_amount_usd), 4)
        end as decimal(9, 4)
    ) as win_rate_by_amount,
    cast(case when deals_won > 0 then {{ divide_exact('bookings_usd', 'deals_won', 2) }} end as decimal(18, 2))
        as avg_deal_size_usd,
    cast(round(avg_cycle_days, 1) as decimal(9, 1)) as avg_cycle_days
from aggregated
