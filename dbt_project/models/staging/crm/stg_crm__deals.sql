select
    id as deal_id,
    properties__dealname as deal_name,
    properties__pipeline as pipeline,
    properties__dealstage as deal_stage,
    properties__hubspot_owner_id as owner_id,
    properties__deal_currency_code as currency,
    {{ to_money('properties__amount') }} as amount,
    cast(properties__createdate as timestamp with time zone) as created_at,
    -- closedate is the close time of a closed deal, but the rep's expected close date of an open one
    case
        when properties__hs_is_closed = 'true' then cast(properties__closedate as timestamp with time zone)
    end as closed_at,
    cast(updated_at as timestamp with time zone) as updated_at,
    properties__dealstage = 'closedwon' as is_won,
    properties__dealstage = 'closedlost' as is_lost,
    coalesce(archived, false) as is_archived,
    cast(archived_at as timestamp with time zone) as archived_at,
    cast(properties__hubspot_owner_assigneddate as timestamp with time zone) as owner_assigned_at,
    cast(properties__hs_is_closed as boolean) as is_closed,
    cast(properties__hs_deal_stage_probability as decimal(5, 4)) as stage_probability,
    {%- for stage in ['appointmentscheduled', 'qualifiedtobuy', 'presentationscheduled', 'decisionmakerboughtin',
                      'contractsent', 'closedwon', 'closedlost'] %}
        cast(properties__hs_date_entered_{{ stage }} as timestamp with time zone) as entered_{{ stage }}_at,
        cast(properties__hs_date_exited_{{ stage }} as timestamp with time zone) as exited_{{ stage }}_at,
    {%- endfor %}
    case
        when properties__hs_is_closed = 'false' then cast(properties__closedate as timestamp with time zone)
    end as expected_close_at,
    properties__hs_forecast_category as forecast_category,
    _dlt_id as dlt_id
from {{ source('raw_crm', 'deals') }}
