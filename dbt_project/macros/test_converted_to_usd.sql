{# Generic test: a USD column is known wherever its local amount is - a missing FX rate fails, never a silent null. #}
{% test converted_to_usd(model, column_name, amount) %}
select *
from {{ model }}
where {{ amount }} is not null and {{ column_name }} is null
{% endtest %}
