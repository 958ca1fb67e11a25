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
    d.currency,
    {{ to_money('d.amount') }} as amount,
    {{ usd_per_unit('r', 'd.currency') }} as usd_per_unit,
    {{ to_usd('d.amount', usd_per_unit('r', 'd.currency')) }} as amount_usd
from dated as d
{{ join_fx_rate('r', 'd.currency', 'd.valuation_date') }}
