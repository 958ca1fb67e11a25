-- Every month from the history start through the latest month the CRM has data for (deal activity or quota).
with bounds as (
    select max(last_at) as last_at
    from (
        select max(updated_at) as last_at from {{ ref('stg_crm__deals') }}
        union all
        select max(closed_at) from {{ ref('stg_crm__deals') }}
        union all
        select max(starts_at) from {{ ref('stg_crm__goal_targets') }}
        where not is_archived
    ) as t
)

select distinct d.month_start
from {{ ref('int_dates') }} as d
cross join bounds as b
where d.month_start >= cast('{{ var("history_start") }}' as date)
    and d.month_start <= cast({{ dbt.date_trunc('month', 'b.last_at') }} as date)
