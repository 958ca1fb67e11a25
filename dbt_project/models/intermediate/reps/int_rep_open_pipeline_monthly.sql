-- Rep × month: deals open at the month's end (created before it, in an open stage then, not archived), by
-- their owner at that time, valued at the deal's current amount in USD (int_deals.amount_usd) and weighted
-- by the pipeline's win probability of the deal's stage at month end.
with months as (
    select
        month_start,
        {{ dbt.dateadd('month', 1, 'month_start') }} as month_end_at
    from {{ ref('int_rep_month_spine') }}
),

deals as (
    select deal_id, owner_id, deal_stage, created_at, amount_usd
    from {{ ref('int_deals') }}
    where not is_archived
),

deal_months as (
    select m.month_start, m.month_end_at, d.deal_id, d.owner_id, d.deal_stage, d.amount_usd
    from months as m
    inner join deals as d on d.created_at < m.month_end_at
),

stage_ranked as (
    {{ history_ranked_as_of('deal_months', ['deal_id', 'month_start'], ref('stg_crm__deal_stage_history'),
                            'deal_id', 'deal_stage', 'entered_at', 'month_end_at') }}
),

owner_ranked as (
    {{ history_ranked_as_of('deal_months', ['deal_id', 'month_start'], ref('stg_crm__deal_owner_history'),
                            'deal_id', 'owner_id', 'assigned_at', 'month_end_at') }}
),

at_month_end as (
    select
        dm.month_start,
        dm.deal_id,
        coalesce(o.owner_id, dm.owner_id) as rep_id,
        coalesce(s.deal_stage, dm.deal_stage) as deal_stage,
        dm.amount_usd
    from deal_months as dm
    left join stage_ranked as s on s.deal_id = dm.deal_id and s.month_start = dm.month_start and s.recency = 1
    left join owner_ranked as o on o.deal_id = dm.deal_id and o.month_start = dm.month_start and o.recency = 1
),

open_deals as (
    select e.*, p.win_probability
    from at_month_end as e
    inner join {{ ref('stg_crm__deal_pipeline_stages') }} as p on p.stage_id = e.deal_stage
    where not p.is_closed
)

select
    rep_id,
    month_start,
    cast(count(*) as integer) as open_deals,
    cast(coalesce(sum(amount_usd), 0) as decimal(18, 2)) as open_pipeline_usd,
    cast(round(coalesce(sum(amount_usd * win_probability), 0), 2) as decimal(18, 2)) as weighted_pipeline_usd
from open_deals
group by rep_id, month_start
