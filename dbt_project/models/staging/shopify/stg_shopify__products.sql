with deduplicated as (
    {{ deduplicate(source('raw_shopify', 'products'), 'id', 'updated_at desc, _dlt_load_id desc') }}
)

select
    cast(legacy_resource_id as bigint) as product_id,
    title,
    vendor,
    product_type,
    lower(status) as status,
    cast(created_at as timestamp with time zone) as created_at,
    cast(updated_at as timestamp with time zone) as updated_at,
    _dlt_id as dlt_id
from deduplicated
