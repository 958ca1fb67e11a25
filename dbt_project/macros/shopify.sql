{# Shopify's GraphQL global ids (gid://shopify/LineItem/13000100000): the numeric id, as the REST API and the
   warehouse's keys know it. #}
{% macro shopify_numeric_id(column) -%}
    cast({{ dbt.split_part(column, "'/'", 5) }} as bigint)
{%- endmacro %}

{# The path and query string of a URL (https://shop.example/p?utm_source=x -> /p?utm_source=x): the REST API's
   landing_site, from GraphQL's customerJourneySummary landing page. #}
{% macro url_path_and_query(column) -%}
    nullif(regexp_replace({{ column }}, '^[a-zA-Z]+://[^/?#]*', ''), '')
{%- endmacro %}
