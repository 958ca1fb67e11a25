-- Funnel by cohort month of entering a stage (docs/architecture.md, Metric definitions). Archived (deleted) deals are left out.
-- A deal counts once per stage and month it entered that stage (a reopened deal that re-enters a
-- stage in another month counts in that month's cohort too). It advanced when it entered the stage's
-- next stage (dim_deal_stage.next_stage_id: next open stage, or won after the last open stage) at
-- any later time; it converted to won when it entered the won stage at or after entering this stage.
-- Median days: exact_median (percentile_disc, an ordered-set aggregate of DuckDB, PostgreSQL and Snowflake;
-- BigQuery would need approx_quantiles); open stages only, over visits that have exited.
with visits as (
    select * from {{ ref('fct_deal_stage_transitions') }}
    where not is_archived_deal
),

stages as (
    select * from {{ ref('dim_deal_stage') }}
),

last_entries as (
    select deal_id, stage_id, max(entered_at) as last_entered_at
    from visits
    group by deal_id, stage_id
),

won as (
    select v.deal_id, max(v.entered_at) as won_at
    from visits as v
    inner join stages as s on s.pipeline_id = v.pipeline_id and s.stage_id = v.stage_id
    where s.is_won_stage
    group by v.deal_id
),

entries as (
    select
        cast({{ dbt.date_trunc('month', 'cast(v.entered_at as date)') }} as date) as cohort_month,
        v.pipeline_id,
        s.pipeline_label,
        v.stage_id,
        s.stage_label,
        s.stage_order,
        s.is_closed,
        s.next_stage_id,
        v.deal_id,
        case when nxt.last_entered_at > v.entered_at then v.deal_id end as advanced_deal_id,
        case when w.won_at >= v.entered_at then v.deal_id end as won_deal_id,
        case when not s.is_closed then v.days_in_stage end as days_in_open_stage
    from visits as v
    inner join stages as s on s.pipeline_id = v.pipeline_id and s.stage_id = v.stage_id
    left join last_entries as nxt on nxt.deal_id = v.deal_id and nxt.stage_id = s.next_stage_id
    left join won as w on w.deal_id = v.deal_id
),

aggregated as (
    select
        cohort_month,
        pipeline_id,
        pipeline_label,
        stage_id,
        stage_label,
        stage_order,
        next_stage_id,
        count(distinct deal_id) as deals_entered,
        count(distinct advanced_deal_id) as deals_advanced,
        count(distinct won_deal_id) as deals_won,
        {{ exact_median('days_in_open_stage') }} as median_days_in_stage
    from entries
    group by cohort_month, pipeline_id, pipeline_label, stage_id, stage_label, stage_order, next_stage_id
)

select
    cohort_month,
    pipeline_id as pipeline,
    pipeline_label,
    stage_id as stage,
    stage_label,
    cast(stage_order as integer) as stage_order,
    cast(deals_entered as integer) as deals_entered,
    cast(case when next_stage_id is not null then deals_advanced end as integer) as deals_advanced,
    cast(deals_won as integer) as deals_won,
    cast(
        case when next_stage_id is not null then 1.0 * deals_advanced / nullif(deals_entered, 0) end
        as decimal(9, 4)
    ) as conversion_to_next,
    cast(1.0 * deals_won / nullif(deals_entered, 0) as decimal(9, 4)) as conversion_to_won,
    cast(median_days_in_stage as decimal(12, 4)) as median_days_in_stage
from aggregated
