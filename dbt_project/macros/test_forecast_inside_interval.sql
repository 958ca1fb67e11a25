{# Generic test: a forecast is never negative, and where it has an interval, lower ≤ forecast ≤ upper. #}
{% test forecast_inside_interval(model, forecast='forecast_usd', lower='lower_usd', upper='upper_usd') %}
select *
from {{ model }}
where
    {{ forecast }} < 0
    or ({{ lower }} is not null and {{ lower }} > {{ forecast }})
    or ({{ upper }} is not null and {{ upper }} < {{ forecast }})
    or ({{ lower }} is null) <> ({{ upper }} is null)
{% endtest %}
