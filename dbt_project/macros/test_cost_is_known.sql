{# Generic test (docs/costs.md, Missing costs): every line that counts as a sale has a unit cost valid on its order
   date. Each failing row is a sale costed at nothing (is_cost_missing): the check lists them, never zero-costs them. #}
{% test cost_is_known(model, flag='is_cost_missing') %}
select order_line_key, channel, order_id, sku, order_date, quantity
from {{ model }}
where {{ flag }} and counts_as_sale
{% endtest %}
