select
    id as owner_id,
    first_name,
    last_name,
    email,
    cast(created_at as timestamp with time zone) as created_at,
    coalesce(archived, false) as is_archived,
    _dlt_id as dlt_id
from {{ source('raw_crm', 'owners') }}
