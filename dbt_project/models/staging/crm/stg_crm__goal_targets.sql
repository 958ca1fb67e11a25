select
    id as goal_target_id,
    properties__hubspot_owner_id as owner_id,
    cast(properties__hs_assignee_user_id as bigint) as assignee_user_id,
    properties__hs_goal_name as goal_name,
    {{ to_money('properties__hs_target_amount') }} as target_amount,
    cast(properties__hs_start_datetime as timestamp with time zone) as starts_at,
    cast(properties__hs_end_datetime as timestamp with time zone) as ends_at,
    cast(properties__hs_createdate as timestamp with time zone) as created_at,
    cast(updated_at as timestamp with time zone) as updated_at,
    coalesce(archived, false) as is_archived,
    cast(archived_at as timestamp with time zone) as archived_at,
    _dlt_id as dlt_id
from {{ source('raw_crm', 'goal_targets') }}
