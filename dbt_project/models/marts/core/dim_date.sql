-- The calendar (int_dates).
select
    date_day,
    month_start,
    quarter_start,
    year_number,
    month_number,
    day_of_week,
    is_weekend
from {{ ref('int_dates') }}
