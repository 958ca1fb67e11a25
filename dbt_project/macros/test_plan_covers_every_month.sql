{# Generic test: every plan version has a target for each month it covers (a budget: the 12 months of its year; a
   reforecast: from its quarter's first month to December; every year planned has a budget) × every channel of the channels seed, and for the b2b
   channel (channel_type b2b) × every territory. Fails with the missing version × month × channel × territory rows.
   The model needs plan_version, plan_year, first_month_start, month_start, channel and territory. #}
{% test plan_covers_every_month(model, territories) %}
with versions as (
    select distinct plan_version, plan_year, first_month_start from {{ model }}
    union
    -- every planned year has its budget, even when only reforecasts of it were loaded
    select distinct
        {{ dbt.concat(["'budget_'", "cast(plan_year as varchar)"]) }} as plan_version,
        plan_year,
        cast({{ dbt.concat(["cast(plan_year as varchar)", "'-01-01'"]) }} as date) as first_month_start
    from {{ model }}
),

offsets as (
    {% for k in range(12) %}select {{ k }} as months_after{% if not loop.last %} union all {% endif %}{% endfor %}
),

territories as (
    {% for t in territories %}select '{{ t }}' as territory{% if not loop.last %} union all {% endif %}{% endfor %}
),

channels as (
    select c.channel, t.territory
    from {{ ref('channels') }} as c
    left join territories as t on c.channel_type = 'b2b'
),

expected as (
    select
        v.plan_version,
        cast({{ dbt.dateadd('month', 'o.months_after', 'v.first_month_start') }} as date) as month_start,
        c.channel,
        c.territory
    from versions as v
    cross join offsets as o
    cross join channels as c
    where extract(year from {{ dbt.dateadd('month', 'o.months_after', 'v.first_month_start') }}) = v.plan_year
)

select e.plan_version, e.month_start, e.channel, e.territory
from expected as e
left join {{ model }} as m
    on e.plan_version = m.plan_version
    and e.month_start = m.month_start
    and e.channel = m.channel
    and coalesce(e.territory, '') = coalesce(m.territory, '')
where m.plan_version is null
{% endtest %}
