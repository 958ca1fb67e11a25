{# Money is DECIMAL(18,2); rates DECIMAL(18,8). #}
{% macro to_money(expr) -%}
    cast({{ expr }} as decimal(18, 2))
{%- endmacro %}

{# USD from a local amount and a USD-per-unit rate: multiplied exactly, rounded half away from zero to the cent. #}
{% macro to_usd(amount, usd_per_unit) -%}
    cast(round(cast({{ amount }} as decimal(18, 2)) * cast({{ usd_per_unit }} as decimal(18, 8)), 2) as decimal(18, 2))
{%- endmacro %}

{# The FX rate of a row's currency on a date: a left join to int_fx_rates_carried (weekend carry-over). #}
{% macro join_fx_rate(alias, currency_col, date_col) -%}
    left join {{ ref('int_fx_rates_carried') }} as {{ alias }}
    on {{ alias }}.currency = {{ currency_col }}
    and {{ date_col }} >= {{ alias }}.valid_from
    and {{ date_col }} < {{ alias }}.valid_to
{%- endmacro %}

{# USD per unit for a row: 1 for USD, else the joined rate (null when missing: the not_null tests fail). #}
{% macro usd_per_unit(alias, currency_col) -%}
    case when {{ currency_col }} = 'USD' then cast(1 as decimal(18, 8)) else {{ alias }}.usd_per_unit end
{%- endmacro %}

{# A computed estimate (possibly floating point, e.g. a forecast) as money: numeric first (PostgreSQL rounds only
   numerics), then rounded to the cent as DECIMAL(18,2). #}
{% macro round_money(expr) -%}
    cast(round(cast({{ expr }} as {{ dbt.type_numeric() }}), 2) as decimal(18, 2))
{%- endmacro %}
