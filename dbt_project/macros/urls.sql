{# URL parsing for web-session attribution (Shopify landing_site / referring_site), adapter-dispatched like
   adapters.sql: default__ is PostgreSQL's SQL, duckdb__ the DuckDB form. #}

{# The decoded value of query-string parameter `name` of a URL or a path (`/p?utm_source=google&...`): the first
   occurrence, '+' read as a space and %XX escapes decoded (UTF-8); null when the parameter is absent or empty, or
   when there is no query string. The fragment (#...) is not part of the query. #}
{% macro url_query_param(column, name) -%}
    {{ return(adapter.dispatch('url_query_param')(column, name)) }}
{%- endmacro %}

{# '&' + the query string of `column` (everything after the first '?', up to a '#'), or null. #}
{% macro _url_query_string_pattern() -%}'\?([^#]*)'{%- endmacro %}

{% macro _url_param_pattern(name) -%}
    '&{{ modules.re.escape(name) }}=([^&]*)'
{%- endmacro %}

{% macro default__url_query_param(column, name) -%}
    {%- set raw -%}
        nullif(substring('&' || substring({{ column }} from {{ _url_query_string_pattern() }}) from {{ _url_param_pattern(name) }}), '')
    {%- endset -%}
    {{ url_decode(raw) }}
{%- endmacro %}

{% macro duckdb__url_query_param(column, name) -%}
    {%- set qs = "regexp_extract(" ~ column ~ ", " ~ _url_query_string_pattern() ~ ", 1)" -%}
    {%- set raw = "nullif(regexp_extract('&' || " ~ qs ~ ", " ~ _url_param_pattern(name) ~ ", 1), '')" -%}
    {{ url_decode(raw) }}
{%- endmacro %}

{# Percent-decoding of a query-string component ('+' is a space); null stays null. #}
{% macro url_decode(expr) -%}
    {{ return(adapter.dispatch('url_decode')(expr)) }}
{%- endmacro %}

{# PostgreSQL has no url_decode: the value is split into %XX escapes and plain runs, the escapes become their bytes,
   and the bytes are read back as UTF-8. #}
{% macro default__url_decode(expr) -%}
    (select convert_from(string_agg(
            case when part[1] ~ '^%[0-9A-Fa-f]{2}$' then decode(substr(part[1], 2), 'hex') else convert_to(part[1], 'UTF8') end,
            ''::bytea order by part_index), 'UTF8')
     from regexp_matches(replace({{ expr }}, '+', ' '), '%[0-9A-Fa-f]{2}|[^%]+|%', 'g') with ordinality as parts (part, part_index))
{%- endmacro %}

{% macro duckdb__url_decode(expr) -%}
    url_decode(replace({{ expr }}, '+', ' '))
{%- endmacro %}

{# The host of an absolute URL (`https://www.google.com/search?q=x` -> google.com): lower case, without a leading
   'www.', port and user info; null for null, '' or a value without a scheme and '//' (a bare path). #}
{% macro url_host(column) -%}
    {{ return(adapter.dispatch('url_host')(column)) }}
{%- endmacro %}

{% macro _url_host_pattern() -%}'^(?:[A-Za-z][A-Za-z0-9+.-]*:)?//(?:[^@/?#]*@)?([^:/?#]+)'{%- endmacro %}

{% macro default__url_host(column) -%}
    nullif(regexp_replace(lower(substring({{ column }} from {{ _url_host_pattern() }})), '^www\.', ''), '')
{%- endmacro %}

{% macro duckdb__url_host(column) -%}
    nullif(regexp_replace(lower(regexp_extract({{ column }}, {{ _url_host_pattern() }}, 1)), '^www\.', ''), '')
{%- endmacro %}
