-- One row per calendar day from var history_start through a year ahead of today.
with days as (
    {{ dbt.date_spine('day', "cast('" ~ var('history_start') ~ "' as date)", dbt.dateadd('day', 366, 'current_date')) }}
)

select
    cast(date_day as date) as date_day,
    cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start,
    cast({{ dbt.date_trunc('quarter', 'date_day') }} as date) as quarter_start,
    cast(extract(year from date_day) as integer) as year_number,
    cast(extract(month from date_day) as integer) as month_number,
    cast(extract(dow from date_day) as integer) as day_of_week,
    extract(dow from date_day) in (0, 6) as is_weekend
from days
