{#- One row per HubSpot deal, current state (int_deals). -#}
select
    deal_key,
    deal_id,
    deal_name,
    pipeline,
    deal_stage,
    owner_id,
    created_at,
    closed_at,
    created_date,
    close_date,
    is_won,
    is_lost,
    is_archived,
    currency,
    amount,
    usd_per_unit,
    amount_usd
from {{ ref('int_deals') }}
