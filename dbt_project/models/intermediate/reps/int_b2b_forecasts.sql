{#- B2B bookings forecast from the pipeline (docs/architecture.md: Deals as a pipeline), made at each month start F for the target
    months F, F+1, F+2 (horizons 1-3), per rep (and the rep's territory then) and for the channel (rep_id null).
    Uses only what was known at F:
    - the pipeline as it was at F (int_deal_pipeline_snapshots): each open deal's USD amount × a conversion
      rate: the share of snapshot amount that was won (booked USD) within the target month, learned per
      forecast category × stale (no stage change for stale_after_days) × expected-close offset (overdue, this
      month, +1, +2, later) × horizon from the snapshots of the previous rate_window months whose target month
      had ended before F;
    - plus a run-rate for bookings from deals not in the snapshot (created later, or reopened): the mean of
      those bookings over the previous run_rate_window months whose target month had ended before F, blended
      half and half with the same figure a year earlier once a full window is known (B2B demand is seasonal);
    - an 80% interval: point ± z_80 × scale × sd, where sd² = Σ over the open deals of amount² × r × (1 − r)
      (each deal is won in the target month or not, r its conversion rate) + the run-rate's month-to-month
      variance, and scale = the RMS of this method's own earlier errors in units of their sd (same horizon and
      level, target month ended before F, made in the last error_window months; default_scale while fewer than
      min_errors are known): the binomial spread, calibrated by how far the method actually missed. Lower
      bound floored at 0.
    The target is B2B bookings (closed-won amount on the UTC close date at that date's rate, owner at close),
    computed here from int_deals_attributed (= finance.monthly_revenue.net_revenue_usd for channel b2b). -#}
{%- set rate_window = 24 -%}
{%- set run_rate_window = 12 -%}
{%- set stale_after_days = 14 -%}
{%- set error_window = 24 -%}
{%- set z_80 = 1.2816 -%}  {#- the standard normal's 90th percentile: a central 80% interval #}
{%- set default_scale = 1.5 -%}
{%- set min_learning_months = 3 -%}
{%- set min_errors = 6 -%}

with months as (
    select snapshot_month as month_start from {{ ref('int_pipeline_snapshot_months') }}
),

horizons as (
    select 1 as horizon
    union all
    select 2 as horizon
    union all
    select 3 as horizon
),

grid as (
    select
        m.month_start as forecast_month,
        h.horizon,
        cast({{ dbt.dateadd('month', 'h.horizon - 1', 'm.month_start') }} as date) as target_month,
        -- the learning window: snapshots whose target month ended before forecast_month
        cast({{ dbt.dateadd('month', '0 - h.horizon', 'm.month_start') }} as date) as last_learning_month,
        cast({{ dbt.dateadd('month', '0 - h.horizon - ' ~ (rate_window - 1), 'm.month_start') }} as date)
            as first_rate_month,
        cast({{ dbt.dateadd('month', '0 - h.horizon - ' ~ (run_rate_window - 1), 'm.month_start') }} as date)
            as first_run_rate_month
    from months as m
    cross join horizons as h
),

won as (
    select deal_id, owner_at_close as rep_id, close_month, amount_usd
    from {{ ref('int_deals_attributed') }}
    where is_won
),

snapshots as (
    select snapshot_month, deal_id, rep_id, forecast_category, expected_close_month, amount_usd, days_in_stage
    from {{ ref('int_deal_pipeline_snapshots') }}
),

-- each snapshot deal × horizon: its expected-close offset and what it booked in the target month
snapshot_outcomes as (
    select
        s.snapshot_month,
        s.deal_id,
        s.rep_id,
        g.horizon,
        coalesce(s.forecast_category, 'unknown') as forecast_category,
        coalesce(s.days_in_stage, 0) >= {{ stale_after_days }} as is_stale,
        case
            when s.expected_close_month is null or s.expected_close_month < s.snapshot_month then -1
            when {{ dbt.datediff('s.snapshot_month', 's.expected_close_month', 'month') }} >= 3 then 3
            else {{ dbt.datediff('s.snapshot_month', 's.expected_close_month', 'month') }}
        end as expected_offset,
        s.amount_usd,
        case when w.close_month = g.target_month then w.amount_usd else 0 end as won_in_target_usd
    from snapshots as s
    inner join grid as g on g.forecast_month = s.snapshot_month
    left join won as w on w.deal_id = s.deal_id
),

learning_months as (
    select
        g.forecast_month,
        g.horizon,
        count(distinct s.snapshot_month) as rate_months
    from grid as g
    inner join snapshots as s
        on s.snapshot_month between g.first_rate_month and g.last_learning_month
    group by g.forecast_month, g.horizon
),

rates as (
    select
        g.forecast_month,
        g.horizon,
        o.forecast_category,
        o.is_stale,
        o.expected_offset,
        case
            when sum(o.amount_usd) > 0
                then cast(sum(o.won_in_target_usd) as {{ dbt.type_float() }})
                    / cast(sum(o.amount_usd) as {{ dbt.type_float() }})
            else 0
        end as conversion_rate
    from grid as g
    inner join snapshot_outcomes as o
        on o.horizon = g.horizon
        and o.snapshot_month between g.first_rate_month and g.last_learning_month
    group by g.forecast_month, g.horizon, o.forecast_category, o.is_stale, o.expected_offset
),

pipeline_part as (
    select
        o.snapshot_month as forecast_month,
        o.horizon,
        o.rep_id,
        sum(cast(o.amount_usd as {{ dbt.type_float() }}) * coalesce(r.conversion_rate, 0)) as pipeline_usd,
        -- each open deal is won in the target month or not: the variance of a Bernoulli payoff
        sum(
            cast(o.amount_usd as {{ dbt.type_float() }}) * cast(o.amount_usd as {{ dbt.type_float() }})
            * least(greatest(coalesce(r.conversion_rate, 0), 0), 1)
            * (1 - least(greatest(coalesce(r.conversion_rate, 0), 0), 1))
        ) as pipeline_variance
    from snapshot_outcomes as o
    left join rates as r
        on r.forecast_month = o.snapshot_month
        and r.horizon = o.horizon
        and r.forecast_category = o.forecast_category
        and r.is_stale = o.is_stale
        and r.expected_offset = o.expected_offset
    group by o.snapshot_month, o.horizon, o.rep_id
),

-- bookings of a (snapshot month, horizon)'s target month from deals that were not in that snapshot
new_deal_bookings_by_rep as (
    select
        g.forecast_month as snapshot_month,
        g.horizon,
        w.rep_id,
        sum(w.amount_usd) as new_usd
    from grid as g
    inner join won as w on w.close_month = g.target_month
    left join snapshots as s on s.snapshot_month = g.forecast_month and s.deal_id = w.deal_id
    where s.deal_id is null
    group by g.forecast_month, g.horizon, w.rep_id
),

-- per rep, and for the channel (level_key '*'): its own monthly series (the channel's variance is not the reps' sum)
new_deal_bookings as (
    select snapshot_month, horizon, rep_id as level_key, new_usd from new_deal_bookings_by_rep
    union all
    select snapshot_month, horizon, '*' as level_key, sum(new_usd) as new_usd
    from new_deal_bookings_by_rep
    group by snapshot_month, horizon
),

run_rate_months as (
    select g.forecast_month, g.horizon, count(*) as n_months
    from grid as g
    inner join months as m on m.month_start between g.first_run_rate_month and g.last_learning_month
    group by g.forecast_month, g.horizon
),

run_rate_sums as (
    select
        g.forecast_month,
        g.horizon,
        n.level_key,
        max(rm.n_months) as n_months,
        sum(cast(n.new_usd as {{ dbt.type_float() }})) as sum_usd,
        sum(cast(n.new_usd as {{ dbt.type_float() }}) * cast(n.new_usd as {{ dbt.type_float() }})) as sum_sq_usd
    from grid as g
    inner join run_rate_months as rm on rm.forecast_month = g.forecast_month and rm.horizon = g.horizon
    inner join new_deal_bookings as n
        on n.horizon = g.horizon
        and n.snapshot_month between g.first_run_rate_month and g.last_learning_month
    group by g.forecast_month, g.horizon, n.level_key
),

-- the same (snapshot month, horizon) a year earlier
last_year as (
    select
        g.forecast_month,
        g.horizon,
        n.level_key,
        cast(n.new_usd as {{ dbt.type_float() }}) as last_year_usd
    from grid as g
    inner join new_deal_bookings as n
        on n.horizon = g.horizon
        and n.snapshot_month = cast({{ dbt.dateadd('month', -12, 'g.forecast_month') }} as date)
),

-- the mean over the window's months (months without such bookings count as 0) and its month-to-month variance
run_rate as (
    select
        rs.forecast_month,
        rs.horizon,
        rs.level_key,
        -- with a full year of history, half of it is the same month a year earlier (B2B demand is seasonal)
        case
            when rs.n_months >= {{ run_rate_window }}
                then 0.5 * rs.sum_usd / rs.n_months + 0.5 * coalesce(ly.last_year_usd, 0)
            else rs.sum_usd / rs.n_months
        end as run_rate_usd,
        case
            when rs.n_months > 1
                then greatest((rs.sum_sq_usd - rs.sum_usd * rs.sum_usd / rs.n_months) / (rs.n_months - 1), 0)
            else 0
        end as run_rate_variance
    from run_rate_sums as rs
    left join last_year as ly
        on ly.forecast_month = rs.forecast_month and ly.horizon = rs.horizon and ly.level_key = rs.level_key
),

rep_keys as (
    select forecast_month, horizon, rep_id from pipeline_part
    union
    select forecast_month, horizon, level_key as rep_id from run_rate
    where level_key <> '*'
),

learnable as (
    select forecast_month, horizon
    from learning_months
    where rate_months >= {{ min_learning_months }}
),

rep_points as (
    select
        k.forecast_month,
        k.horizon,
        k.rep_id,
        k.rep_id as level_key,
        'rep' as forecast_level,
        coalesce(p.pipeline_usd, 0) as pipeline_usd,
        coalesce(r.run_rate_usd, 0) as run_rate_usd,
        coalesce(p.pipeline_variance, 0) + coalesce(r.run_rate_variance, 0) as variance
    from rep_keys as k
    inner join learnable as l on l.forecast_month = k.forecast_month and l.horizon = k.horizon
    left join pipeline_part as p
        on p.forecast_month = k.forecast_month and p.horizon = k.horizon and p.rep_id = k.rep_id
    left join run_rate as r
        on r.forecast_month = k.forecast_month and r.horizon = k.horizon and r.level_key = k.rep_id
),

channel_points as (
    select
        rp.forecast_month,
        rp.horizon,
        cast(null as {{ dbt.type_string() }}) as rep_id,
        '*' as level_key,
        'channel' as forecast_level,
        sum(rp.pipeline_usd) as pipeline_usd,
        sum(rp.run_rate_usd) as run_rate_usd,
        sum(coalesce(pp.pipeline_variance, 0)) + max(coalesce(r.run_rate_variance, 0)) as variance
    from rep_points as rp
    left join pipeline_part as pp
        on pp.forecast_month = rp.forecast_month and pp.horizon = rp.horizon and pp.rep_id = rp.rep_id
    left join run_rate as r
        on r.forecast_month = rp.forecast_month and r.horizon = rp.horizon and r.level_key = '*'
    group by rp.forecast_month, rp.horizon
),

points as (
    select * from rep_points
    union all
    select * from channel_points
),

actuals_by_rep as (
    select close_month, rep_id as level_key, sum(amount_usd) as actual_usd
    from won
    group by close_month, rep_id
    union all
    select close_month, '*' as level_key, sum(amount_usd) as actual_usd
    from won
    group by close_month
),

with_target as (
    select
        p.*,
        g.target_month,
        p.pipeline_usd + p.run_rate_usd as point_usd,
        sqrt(p.variance) as sd_usd
    from points as p
    inner join grid as g on g.forecast_month = p.forecast_month and g.horizon = p.horizon
),

-- the method's earlier errors in units of its own standard deviation
past_errors as (
    select
        t.forecast_month,
        t.target_month,
        t.horizon,
        t.forecast_level,
        (cast(coalesce(a.actual_usd, 0) as {{ dbt.type_float() }}) - t.point_usd) / t.sd_usd as z_error
    from with_target as t
    left join actuals_by_rep as a on a.close_month = t.target_month and a.level_key = t.level_key
    where t.sd_usd > 0
),

calibration as (
    select
        g.forecast_month,
        g.horizon,
        e.forecast_level,
        count(*) as n_errors,
        sqrt(avg(e.z_error * e.z_error)) as scale
    from grid as g
    inner join past_errors as e
        on e.horizon = g.horizon
        and e.target_month < g.forecast_month
        and e.forecast_month >= cast({{ dbt.dateadd('month', '0 - ' ~ error_window, 'g.forecast_month') }} as date)
    group by g.forecast_month, g.horizon, e.forecast_level
),

intervals as (
    select
        t.*,
        {{ z_80 }} * t.sd_usd
        * case when c.n_errors >= {{ min_errors }} then c.scale else {{ default_scale }} end as half_width_usd
    from with_target as t
    left join calibration as c
        on c.forecast_month = t.forecast_month and c.horizon = t.horizon and c.forecast_level = t.forecast_level
)

select
    i.forecast_month,
    i.target_month,
    i.horizon,
    'b2b' as channel,
    i.rep_id,
    rt.territory,
    'model' as method,  -- noqa: RF04
    'pipeline_conversion' as model_name,
    {{ round_money('i.point_usd') }} as forecast_usd,
    {{ round_money('greatest(i.point_usd - i.half_width_usd, 0)') }} as lower_usd,
    {{ round_money('i.point_usd + i.half_width_usd') }} as upper_usd,
    {{ round_money('i.pipeline_usd') }} as pipeline_part_usd,
    {{ round_money('i.run_rate_usd') }} as run_rate_part_usd
from intervals as i
left join {{ ref('int_rep_territories_monthly') }} as rt
    on rt.rep_id = i.rep_id and rt.month_start = i.forecast_month
