{# Generic test: the column is never negative (spend, impressions, clicks, a platform's conversions); nulls pass. #}
{% test non_negative(model, column_name) %}
select *
from {{ model }}
where {{ column_name }} < 0
{% endtest %}
