{# Generic test: a row's channel group is what GA4's default channel grouping gives its (source, medium, campaign), as
   macros/marketing.sql writes it: GA4's own rows check that the warehouse's rule set reproduces GA4's grouping. #}
{% test matches_default_channel_group(model, column_name, source, medium, campaign) %}
select *
from {{ model }}
where {{ column_name }} <> {{ default_channel_group(source, medium, campaign) }}
{% endtest %}
