with deduplicated as (
    {{ deduplicate(source('raw_shopify', 'products'), 'id', 'updated_at desc, _dlt_load_id desc') }}
)

select
    id as product_id,
    title,
    vendor,
    product_type,
    status,
    cast(created_at as timestamp with time zone) as created_at,
    cast(updated_at as timestamp with time zone) as updated_at
from deduplicated
