select
    cast(rate_date as date) as rate_date,
    base_currency as currency,
    cast(rate as decimal(18, 8)) as usd_per_unit
from {{ source('raw_fx', 'rates') }}
where quote_currency = 'USD'
