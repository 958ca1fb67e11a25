-- Rep × month sales performance (docs/architecture.md, Data path and Metric definitions). Every rep with a quota, a closed deal or open pipeline,
-- for every month from the history start through the latest CRM month; months without activity carry zeros.
with months as (
    select
        month_start,
        {{ dbt.dateadd('month', 1, 'month_start') }} as month_end_at
    from {{ ref('int_rep_month_spine') }}
),

commissions as (
    select * from {{ ref('int_rep_commissions') }}
),

closed as (
    select * from {{ ref('int_rep_closed_deals_monthly') }}
),

pipeline as (
    select * from {{ ref('int_rep_open_pipeline_monthly') }}
),

reps as (
    select rep_id from commissions
    union
    select rep_id from pipeline
),

rep_versions as (
    select
        rep_id, rep_name, territory, valid_from, valid_to, is_current,
        row_number() over (partition by rep_id order by valid_from) as version_number
    from {{ ref('dim_sales_rep') }}
),

grid as (
    select r.rep_id, m.month_start, m.month_end_at
    from reps as r
    cross join months as m
),

-- the quarter of each month: its quota and the bookings of its months before this one
quarter_targets as (
    select
        g.rep_id,
        g.month_start,
        sum(coalesce(c.quota_usd, 0)) as quarter_quota_usd,
        sum(case when c.month_start < g.month_start then coalesce(c.bookings_usd, 0) else 0 end)
            as quarter_to_date_bookings_usd
    from grid as g
    left join commissions as c
        on c.rep_id = g.rep_id
        and cast({{ dbt.date_trunc('quarter', 'c.month_start') }} as date)
        = cast({{ dbt.date_trunc('quarter', 'g.month_start') }} as date)
    group by g.rep_id, g.month_start
),

-- open pipeline at the month start expected to close in the rest of its quarter (this month included)
quarter_pipeline as (
    select
        rep_id,
        snapshot_month as month_start,
        sum(amount_usd) as quarter_pipeline_usd
    from {{ ref('int_deal_pipeline_snapshots') }}
    where expected_close_month >= snapshot_month
        and cast({{ dbt.date_trunc('quarter', 'expected_close_month') }} as date)
        = cast({{ dbt.date_trunc('quarter', 'snapshot_month') }} as date)
    group by rep_id, snapshot_month
),

forecasts as (
    select rep_id, forecast_month as month_start, forecast_usd
    from {{ ref('int_b2b_forecasts') }}
    where horizon = 1
        and rep_id is not null
),

territory_at_month_end as (
    select g.rep_id, g.month_start, min(v.territory) as territory
    from grid as g
    inner join rep_versions as v
        on v.rep_id = g.rep_id
        and v.valid_from < g.month_end_at
        and (v.valid_to is null or v.valid_to >= g.month_end_at)
    group by g.rep_id, g.month_start
)

select
    g.month_start,
    g.rep_id,
    cur.rep_name,
    coalesce(t.territory, first_version.territory) as territory,
    cast(coalesce(c.quota_usd, 0) as decimal(18, 2)) as quota_usd,
    cast(coalesce(c.bookings_usd, 0) as decimal(18, 2)) as bookings_usd,
    c.attainment_pct,
    cast(coalesce(d.deals_won, 0) as integer) as deals_won,
    cast(coalesce(d.deals_lost, 0) as integer) as deals_lost,
    d.win_rate,
    d.win_rate_by_amount,
    d.avg_deal_size_usd,
    d.avg_cycle_days,
    cast(coalesce(p.open_pipeline_usd, 0) as decimal(18, 2)) as open_pipeline_usd,
    cast(coalesce(p.weighted_pipeline_usd, 0) as decimal(18, 2)) as weighted_pipeline_usd,
    cast(coalesce(c.commission_usd, 0) as decimal(18, 2)) as commission_usd,
    cast(coalesce(d.lost_amount_usd, 0) as decimal(18, 2)) as lost_amount_usd,
    cast(coalesce(p.open_deals, 0) as integer) as open_deals,
    cast(coalesce(qp.quarter_pipeline_usd, 0) as decimal(18, 2)) as quarter_pipeline_usd,
    cast(qt.quarter_quota_usd - qt.quarter_to_date_bookings_usd as decimal(18, 2)) as remaining_quarter_quota_usd,
    case
        when qt.quarter_quota_usd > qt.quarter_to_date_bookings_usd
            then {{ ratio_exact('coalesce(qp.quarter_pipeline_usd, 0)',
                                'qt.quarter_quota_usd - qt.quarter_to_date_bookings_usd', 4) }}
    end as pipeline_coverage,
    f.forecast_usd
from grid as g
left join commissions as c on c.rep_id = g.rep_id and c.month_start = g.month_start
left join closed as d on d.rep_id = g.rep_id and d.month_start = g.month_start
left join pipeline as p on p.rep_id = g.rep_id and p.month_start = g.month_start
left join quarter_targets as qt on qt.rep_id = g.rep_id and qt.month_start = g.month_start
left join quarter_pipeline as qp on qp.rep_id = g.rep_id and qp.month_start = g.month_start
left join forecasts as f on f.rep_id = g.rep_id and f.month_start = g.month_start
left join territory_at_month_end as t on t.rep_id = g.rep_id and t.month_start = g.month_start
left join rep_versions as first_version on first_version.rep_id = g.rep_id and first_version.version_number = 1
left join rep_versions as cur on cur.rep_id = g.rep_id and cur.is_current
