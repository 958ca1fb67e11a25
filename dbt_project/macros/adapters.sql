{# Adapter-dispatched SQL for expressions that differ between warehouses (docs/architecture.md, Decision log): staging calls these,
   never a warehouse's own function. default__ is standard SQL (PostgreSQL); duckdb__ the DuckDB form. #}

{# Milliseconds since the Unix epoch of a timestamp, as a bigint. #}
{% macro epoch_ms(ts) -%}
    {{ return(adapter.dispatch('epoch_ms')(ts)) }}
{%- endmacro %}

{% macro default__epoch_ms(ts) -%}
    cast(floor(extract(epoch from {{ ts }}) * 1000) as bigint)
{%- endmacro %}

{% macro duckdb__epoch_ms(ts) -%}
    epoch_ms({{ ts }})
{%- endmacro %}

{# `numerator` / `denominator` rounded half away from zero to `scale` decimals, exactly, as DECIMAL(18, scale):
   the numerator is an exact number with at most `scale` decimals, the denominator a positive integer.
   DuckDB divides DECIMALs in floating point (135.89 / 2 gives 67.94), so it divides in integer units. #}
{% macro divide_exact(numerator, denominator, scale) -%}
    {{ return(adapter.dispatch('divide_exact')(numerator, denominator, scale)) }}
{%- endmacro %}

{% macro default__divide_exact(numerator, denominator, scale) -%}
    cast(round(cast({{ numerator }} as numeric) / ({{ denominator }}), {{ scale }}) as decimal(18, {{ scale }}))
{%- endmacro %}

{% macro duckdb__divide_exact(numerator, denominator, scale) -%}
    {%- set units = "cast(cast(" ~ numerator ~ " as decimal(18, " ~ scale ~ ")) * " ~ (10 ** scale) ~ " as hugeint)" -%}
    cast(cast(sign({{ numerator }}) * ((abs({{ units }}) * 2 + ({{ denominator }})) // (2 * ({{ denominator }})))
              as decimal(28, 0)) * {{ "0." ~ "0" * (scale - 1) ~ "1" }} as decimal(18, {{ scale }}))
{%- endmacro %}

{# The same quotients, null unless the denominator is positive (no orders, sessions, spend: no ratio), typed
   DECIMAL(18, scale) outside the CASE too (PostgreSQL drops a CASE's numeric scale). #}
{% macro when_positive_divide_exact(numerator, denominator, scale) -%}
    cast(case when {{ denominator }} > 0 then {{ divide_exact(numerator, denominator, scale) }} end
         as decimal(18, {{ scale }}))
{%- endmacro %}

{% macro when_positive_ratio_exact(numerator, denominator, scale) -%}
    cast(case when {{ denominator }} > 0 then {{ ratio_exact(numerator, denominator, scale) }} end
         as decimal(18, {{ scale }}))
{%- endmacro %}

{# The median of a DECIMAL expression, exactly in DECIMAL on every warehouse (percentile_cont interpolates in
   floating point on PostgreSQL and truncates to the input's scale on DuckDB): the mean of the two middle values. #}
{% macro exact_median(expr) -%}
    ((percentile_disc(0.5) within group (order by {{ expr }})
      + percentile_disc(0.5) within group (order by {{ expr }} desc)) * 0.5)
{%- endmacro %}

{# `numerator` / `denominator` rounded half away from zero to `scale` decimals, exactly, as DECIMAL(18, scale), for two
   money amounts (at most 2 decimals) and a positive denominator: a ratio such as pipeline coverage. DuckDB divides
   DECIMALs in floating point (6.53185 would round to 6.5318), so it divides in integer cents. #}
{% macro ratio_exact(numerator, denominator, scale) -%}
    {{ return(adapter.dispatch('ratio_exact')(numerator, denominator, scale)) }}
{%- endmacro %}

{% macro default__ratio_exact(numerator, denominator, scale) -%}
    cast(round(cast({{ numerator }} as numeric) / cast({{ denominator }} as numeric), {{ scale }}) as decimal(18, {{ scale }}))
{%- endmacro %}

{% macro duckdb__ratio_exact(numerator, denominator, scale) -%}
    {%- set n = "cast(cast(" ~ numerator ~ " as decimal(18, 2)) * 100 as hugeint)" -%}
    {%- set d = "cast(cast(" ~ denominator ~ " as decimal(18, 2)) * 100 as hugeint)" -%}
    cast(cast(sign({{ n }}) * ((abs({{ n }}) * {{ 10 ** scale }} * 2 + {{ d }}) // (2 * {{ d }})) as decimal(28, 0))
         * {{ "0." ~ "0" * (scale - 1) ~ "1" }} as decimal(18, {{ scale }}))
{%- endmacro %}
