select
    id as deal_id,
    properties__dealname as deal_name,
    properties__pipeline as pipeline,
    properties__dealstage as deal_stage,
    properties__hubspot_owner_id as owner_id,
    properties__deal_currency_code as currency,
    {{ to_money('properties__amount') }} as amount,
    cast(properties__createdate as timestamp with time zone) as created_at,
    cast(properties__closedate as timestamp with time zone) as closed_at,
    cast(updated_at as timestamp with time zone) as updated_at,
    properties__dealstage = 'closedwon' as is_won,
    properties__dealstage = 'closedlost' as is_lost,
    coalesce(archived, false) as is_archived
from {{ source('raw_crm', 'deals') }}
