{#- The month starts at which the pipeline is rebuilt: every month of the CRM's history, and the next month start
    once the CRM's data reaches within a day of it (the pipeline as it stands now: what the forward-looking
    forecast starts from). -#}
with crm_data as (
    select max(updated_at) as last_at
    from {{ ref('stg_crm__deals') }}
)

select month_start as snapshot_month
from {{ ref('int_rep_month_spine') }}
union
select cast({{ dbt.date_trunc('month', dbt.dateadd('day', 1, 'last_at')) }} as date) as snapshot_month
from crm_data
