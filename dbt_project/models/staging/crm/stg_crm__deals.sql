-- One row per deal as HubSpot lists it now: a deal merged into another (raw_crm.deal_merges) is left out (the
-- survivor stands for the group). entered_/exited_<stage id>_at: one pair per stage of every pipeline in the
-- pipelines table, pivoted from raw_crm.deals__stage_dates (HubSpot's hs_v2_date_entered/exited_<stage id>).
{%- set stages = crm_pipeline_stage_ids() %}
with deals as (
    select * from {{ source('raw_crm', 'deals') }}
    where {{ crm_not_merged('id', 'deal_merges') }}
),

stage_dates as (
    select
        {{ crm_stage_date_pivot(stages) }}
        _dlt_parent_id
    from {{ source('raw_crm', 'deals__stage_dates') }}
    group by _dlt_parent_id
)

select
    d.id as deal_id,
    d.properties__dealname as deal_name,
    d.properties__pipeline as pipeline,
    d.properties__dealstage as deal_stage,
    d.properties__hubspot_owner_id as owner_id,
    d.properties__deal_currency_code as currency,
    {{ to_money('d.properties__amount') }} as amount,
    cast(d.properties__createdate as timestamp with time zone) as created_at,
    -- closedate is the close time of a closed deal, but the rep's expected close date of an open one
    case
        when d.properties__hs_is_closed = 'true' then cast(d.properties__closedate as timestamp with time zone)
    end as closed_at,
    cast(d.updated_at as timestamp with time zone) as updated_at,
    -- won / lost: the won or lost stage of the deal's own pipeline (HubSpot's calculated flags)
    coalesce(d.properties__hs_is_closed_won = 'true', false) as is_won,
    coalesce(d.properties__hs_is_closed_lost = 'true', false) as is_lost,
    coalesce(d.archived, false) as is_archived,
    cast(d.archived_at as timestamp with time zone) as archived_at,
    cast(d.properties__hubspot_owner_assigneddate as timestamp with time zone) as owner_assigned_at,
    cast(d.properties__hs_is_closed as boolean) as is_closed,
    cast(d.properties__hs_deal_stage_probability as decimal(5, 4)) as stage_probability,
    {{ crm_stage_date_columns(stages) }}
    case
        when d.properties__hs_is_closed = 'false' then cast(d.properties__closedate as timestamp with time zone)
    end as expected_close_at,
    d.properties__hs_forecast_category as forecast_category,
    d.properties__hs_merged_object_ids as merged_object_ids,
    {{- crm_extra_columns('deals') }}
    d._dlt_id as dlt_id
from deals as d
left join stage_dates as sd on sd._dlt_parent_id = d._dlt_id  -- noqa: ST11
