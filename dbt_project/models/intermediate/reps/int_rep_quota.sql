-- Monthly quota per rep: the CRM goal targets (hs_target_amount, USD) by the month they start in.
select
    owner_id as rep_id,
    cast({{ dbt.date_trunc('month', 'starts_at') }} as date) as month_start,
    cast(sum(target_amount) as decimal(18, 2)) as quota_usd,
    cast(count(*) as integer) as goal_targets
from {{ ref('stg_crm__goal_targets') }}
where not is_archived
    and owner_id is not null
group by owner_id, cast({{ dbt.date_trunc('month', 'starts_at') }} as date)
