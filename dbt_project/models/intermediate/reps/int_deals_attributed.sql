-- Closed, non-archived deals attributed to their owner AT CLOSE (docs/architecture.md, Metric definitions): the latest owner assignment
-- at or before closed_at (propertiesWithHistory.hubspot_owner_id), else the current owner.
with deals as (
    select deal_id, owner_id, created_at, closed_at, close_date, is_won, is_lost, currency, amount, amount_usd
    from {{ ref('int_deals') }}
    where closed_at is not null
        and not is_archived
),

owner_history as (
    select deal_id, owner_id, assigned_at, entry_index
    from {{ ref('stg_crm__deal_owner_history') }}
),

assignments_before_close as (
    select
        d.deal_id,
        h.owner_id,
        row_number() over (partition by d.deal_id order by h.assigned_at desc, h.entry_index desc) as recency
    from deals as d
    inner join owner_history as h
        on h.deal_id = d.deal_id
        and h.assigned_at <= d.closed_at
)

select
    d.deal_id,
    coalesce(a.owner_id, d.owner_id) as owner_at_close,
    d.owner_id as current_owner_id,
    d.created_at,
    d.closed_at,
    d.close_date,
    cast({{ dbt.date_trunc('month', 'd.close_date') }} as date) as close_month,
    d.is_won,
    not d.is_won as is_lost,
    d.currency,
    d.amount,
    d.amount_usd,
    {{ dbt.datediff('d.created_at', 'd.closed_at', 'day') }} as cycle_days
from deals as d
left join assignments_before_close as a
    on a.deal_id = d.deal_id
    and a.recency = 1
