{# The history entries of `keys` (e.g. deal × month) ranked newest first among those before `cutoff`:
   rows of `history` joined on `history_key`, `recency` = 1 is the value in force at the cutoff. #}
{% macro history_ranked_as_of(spine, keys, history, history_key, value_column, at_column, cutoff) -%}
    select
        {% for k in keys %}sp.{{ k }}, {% endfor %}
        h.{{ value_column }},
        row_number() over (partition by {% for k in keys %}sp.{{ k }}{% if not loop.last %}, {% endif %}{% endfor %}
                           order by h.{{ at_column }} desc, h.entry_index desc) as recency
    from {{ spine }} as sp
    inner join {{ history }} as h
        on h.{{ history_key }} = sp.{{ history_key }}
        and h.{{ at_column }} < sp.{{ cutoff }}
{%- endmacro %}
