{#- Amazon payouts (docs/architecture.md: Amazon fees and settlements): one row per settlement (a 14-day period of
    one marketplace and currency), what it grouped - sales, fees, refunds (positive when charged or paid back),
    other (reimbursements, retrocharges, liquidation proceeds, reserve released − reserve held) - and the payout
    deposited: payout = sales − fees − refunds + other, in USD at the deposit date's rate. -#}
with settlements as (
    select *, cast(deposit_at as date) as deposit_date from {{ ref('stg_amazon__settlements') }}
),

lines as (
    select * from {{ ref('int_amazon__settlement_lines') }}
),

totals as (
    select
        settlement_id,
        max(marketplace_name) as marketplace,
        sum(case when payout_category = 'sales' then amount else 0 end) as sales,
        -sum(case when payout_category = 'fees' then amount else 0 end) as fees,
        -sum(case when payout_category = 'refunds' then amount else 0 end) as refunds,
        sum(case when payout_category = 'other' then amount else 0 end) as other,
        sum(case when amount_description = 'Previous Reserve Amount Balance' then amount else 0 end)
            as reserve_released,
        -sum(case when amount_description = 'Current Reserve Amount' then amount else 0 end) as reserve_held
    from lines
    group by settlement_id
)

select
    s.settlement_id,
    t.marketplace,
    s.marketplace_id,
    cast(s.settlement_start_at as date) as settlement_start_date,
    cast(s.settlement_end_at as date) as settlement_end_date,
    s.settlement_start_at,
    s.settlement_end_at,
    s.deposit_date,
    s.currency,
    {{ to_money('coalesce(t.sales, 0)') }} as sales,
    {{ to_money('coalesce(t.fees, 0)') }} as fees,
    {{ to_money('coalesce(t.refunds, 0)') }} as refunds,
    {{ to_money('coalesce(t.other, 0)') }} as other,
    {{ to_money('coalesce(t.reserve_released, 0)') }} as reserve_released,
    {{ to_money('coalesce(t.reserve_held, 0)') }} as reserve_held,
    {{ to_money('s.total_amount') }} as payout,
    {{ to_usd('s.total_amount', usd_per_unit('r', 's.currency')) }} as payout_usd
from settlements as s
left join totals as t on t.settlement_id = s.settlement_id
{{ join_fx_rate('r', 's.currency', 's.deposit_date') }}
