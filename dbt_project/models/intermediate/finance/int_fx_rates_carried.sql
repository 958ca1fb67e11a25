{#- Each published rate is valid from its day until the next published day (weekends and holidays carry the
    last earlier business day's rate), and never longer than fx_max_carry_days: past that, conversion finds
    no rate and the not_null tests on the *_usd columns fail. -#}
with rates as (
    select currency, rate_date, usd_per_unit from {{ ref('stg_fx__rates') }}
),

windowed as (
    select
        currency,
        rate_date,
        usd_per_unit,
        lead(rate_date) over (partition by currency order by rate_date) as next_rate_date
    from rates
)

select
    currency,
    rate_date,
    usd_per_unit,
    rate_date as valid_from,
    case
        when next_rate_date is not null
            and next_rate_date <= {{ dbt.dateadd('day', var('fx_max_carry_days'), 'rate_date') }}
            then next_rate_date
        else {{ dbt.dateadd('day', var('fx_max_carry_days'), 'rate_date') }}
    end as valid_to
from windowed
