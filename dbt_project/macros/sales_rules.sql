{# Whether a posting (a refund or a marketplace fee) counts toward sales, from its order's row in int_orders
   (joined as `order_alias`): as its order does, and yes when the warehouse does not hold the order (an Amazon
   financial event of an order the Orders API has not delivered, or that ingestion quarantined). Only postings of
   test or cancelled orders are left out. #}
{% macro posting_counts_as_sale(order_alias) -%}
    coalesce({{ order_alias }}.counts_as_sale, true)
{%- endmacro %}
