{#- HubSpot deals, current state, with amount_usd at the close date's rate (create date while open) and
    is_booked, the B2B booking rule (docs/architecture.md, Metric definitions): won and not archived. -#}
with deals as (
    select * from {{ ref('stg_crm__deals') }}
),

dated as (
    select *, cast(coalesce(closed_at, created_at) as date) as valuation_date from deals
)

select
    {{ dbt.hash(dbt.concat(["'hubspot|'", "d.deal_id"])) }} as deal_key,
    d.deal_id,
    d.deal_name,
    d.pipeline,
    d.deal_stage,
    d.owner_id,
    d.created_at,
    d.closed_at,
    cast(d.created_at as date) as created_date,
    cast(d.closed_at as date) as close_date,
    d.is_won,
    d.is_lost,
    d.is_archived,
    d.is_won and not d.is_archived as is_booked,
    d.currency,
    {{ to_money('d.amount') }} as amount,
    {{ usd_per_unit('r', 'd.currency') }} as usd_per_unit,
    {{ to_usd('d.amount', usd_per_unit('r', 'd.currency')) }} as amount_usd
from dated as d
{{ join_fx_rate('r', 'd.currency', 'd.valuation_date') }}
