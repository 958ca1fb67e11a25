{#- The plan's targets with what their version says: kind, year, the first month it covers and when it was
    published. The lead's forecast uses it as a baseline: the plan as known at a forecast date is the latest
    version with published_date <= that date. -#}
with targets as (
    select * from {{ ref('stg_plan__targets') }}
    where is_in_current_sheet
),

versions as (
    select
        plan_version,
        case when plan_version like 'budget%' then 'budget' else 'reforecast' end as version_kind,
        cast(substring(plan_version, position('_' in plan_version) + 1, 4) as integer) as plan_year,
        case
            when plan_version like 'budget%' then 1
            else 3 * cast(substring(plan_version, length(plan_version), 1) as integer) - 2
        end as first_month_number
    from (select distinct plan_version from targets) as version_names
)

select
    t.plan_version,
    v.version_kind,
    v.plan_year,
    cast({{ dbt.dateadd('month', 'v.first_month_number - 1',
        "cast(" ~ dbt.concat(["cast(v.plan_year as varchar)", "'-01-01'"]) ~ " as date)") }} as date
    ) as first_month_start,
    t.published_date,
    t.month_start,
    t.channel,
    t.territory,
    t.net_revenue_usd
from targets as t
inner join versions as v on v.plan_version = t.plan_version
