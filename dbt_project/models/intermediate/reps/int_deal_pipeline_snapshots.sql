{#- Deal × month start (docs/architecture.md: Deals as a pipeline): every deal open at 00:00 UTC of the 1st of a month, as the CRM
    showed it then, rebuilt from the property histories (changes strictly before the instant), never from
    today's values: created before it, not archived before it, in an open stage then. Stage, amount, expected
    close date (closedate then), forecast category and owner as of then; the owner's territory then; USD at
    the snapshot date's rate (docs/architecture.md, Metric definitions). -#}
with snapshots as (
    select
        snapshot_month,
        cast(snapshot_month as {{ dbt.type_timestamp() }}) as snapshot_at
    from {{ ref('int_pipeline_snapshot_months') }}
),

deals as (
    select deal_id, owner_id, currency, amount, deal_stage, created_at, closed_at, archived_at
    from {{ ref('stg_crm__deals') }}
),

-- a deal closed (for good) before the instant was not open then: only the others need their histories
deal_months as (
    select m.snapshot_month, m.snapshot_at, d.*
    from snapshots as m
    inner join deals as d
        on d.created_at < m.snapshot_at
        and (d.archived_at is null or d.archived_at >= m.snapshot_at)
        and (d.closed_at is null or d.closed_at >= m.snapshot_at)
),

stage_ranked as (
    {{ history_ranked_as_of('deal_months', ['deal_id', 'snapshot_month'], ref('stg_crm__deal_stage_history'),
                            'deal_id', 'deal_stage', 'entered_at', 'snapshot_at') }}
),

stage_entered_ranked as (
    {{ history_ranked_as_of('deal_months', ['deal_id', 'snapshot_month'], ref('stg_crm__deal_stage_history'),
                            'deal_id', 'entered_at', 'entered_at', 'snapshot_at') }}
),

owner_ranked as (
    {{ history_ranked_as_of('deal_months', ['deal_id', 'snapshot_month'], ref('stg_crm__deal_owner_history'),
                            'deal_id', 'owner_id', 'assigned_at', 'snapshot_at') }}
),

amount_ranked as (
    {{ history_ranked_as_of('deal_months', ['deal_id', 'snapshot_month'], ref('stg_crm__deal_amount_history'),
                            'deal_id', 'amount', 'valid_from', 'snapshot_at') }}
),

closedate_ranked as (
    {{ history_ranked_as_of('deal_months', ['deal_id', 'snapshot_month'], ref('stg_crm__deal_closedate_history'),
                            'deal_id', 'closes_at', 'valid_from', 'snapshot_at') }}
),

category_ranked as (
    {{ history_ranked_as_of('deal_months', ['deal_id', 'snapshot_month'],
                            ref('stg_crm__deal_forecast_category_history'),
                            'deal_id', 'forecast_category', 'valid_from', 'snapshot_at') }}
),

as_of_then as (
    select
        dm.snapshot_month,
        dm.deal_id,
        dm.currency,
        coalesce(s.deal_stage, dm.deal_stage) as deal_stage,
        coalesce(se.entered_at, dm.created_at) as stage_entered_at,
        dm.snapshot_at,
        coalesce(o.owner_id, dm.owner_id) as rep_id,
        coalesce(a.amount, dm.amount) as amount,
        c.closes_at as expected_close_at,
        f.forecast_category
    from deal_months as dm
    left join stage_ranked as s
        on s.deal_id = dm.deal_id and s.snapshot_month = dm.snapshot_month and s.recency = 1
    left join stage_entered_ranked as se
        on se.deal_id = dm.deal_id and se.snapshot_month = dm.snapshot_month and se.recency = 1
    left join owner_ranked as o
        on o.deal_id = dm.deal_id and o.snapshot_month = dm.snapshot_month and o.recency = 1
    left join amount_ranked as a
        on a.deal_id = dm.deal_id and a.snapshot_month = dm.snapshot_month and a.recency = 1
    left join closedate_ranked as c
        on c.deal_id = dm.deal_id and c.snapshot_month = dm.snapshot_month and c.recency = 1
    left join category_ranked as f
        on f.deal_id = dm.deal_id and f.snapshot_month = dm.snapshot_month and f.recency = 1
),

open_then as (
    select t.*, p.win_probability
    from as_of_then as t
    inner join {{ ref('stg_crm__deal_pipeline_stages') }} as p on p.stage_id = t.deal_stage
    where not p.is_closed
)

select
    o.snapshot_month,
    o.deal_id,
    o.rep_id,
    rt.territory,
    o.deal_stage,
    o.win_probability as stage_probability,
    o.stage_entered_at,
    cast({{ dbt.datediff('o.stage_entered_at', 'o.snapshot_at', 'day') }} as integer) as days_in_stage,
    o.forecast_category,
    o.expected_close_at,
    cast({{ dbt.date_trunc('month', 'o.expected_close_at') }} as date) as expected_close_month,
    o.currency,
    {{ to_money('o.amount') }} as amount,
    {{ usd_per_unit('r', 'o.currency') }} as usd_per_unit,
    {{ to_usd('o.amount', usd_per_unit('r', 'o.currency')) }} as amount_usd
from open_then as o
left join {{ ref('int_rep_territories_monthly') }} as rt
    on rt.rep_id = o.rep_id and rt.month_start = o.snapshot_month
{{ join_fx_rate('r', 'o.currency', 'o.snapshot_month') }}
