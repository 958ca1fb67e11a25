select
    id as owner_id,
    first_name,
    last_name,
    email,
    cast(created_at as timestamp with time zone) as created_at,
    coalesce(archived, false) as is_archived,
    _dlt_id as dlt_id,
    cast(user_id as bigint) as user_id,
    cast(updated_at as timestamp with time zone) as updated_at
from {{ source('raw_crm', 'owners') }}
