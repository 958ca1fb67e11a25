{# Latest version of each key of a relation: raw merges should already be unique, staging makes sure. #}
{% macro deduplicate(relation, key, order_by) -%}
select * from (
    select *, row_number() over (partition by {{ key }} order by {{ order_by }}) as dedupe_rank
    from {{ relation }}
) as ranked
where dedupe_rank = 1
{%- endmacro %}
