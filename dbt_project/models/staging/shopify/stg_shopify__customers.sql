-- PII (email, names): kept to staging; marts see customers through identity resolution and email hashes only.
with deduplicated as (
    {{ deduplicate(source('raw_shopify', 'customers'), 'id', 'updated_at desc, _dlt_load_id desc') }}
)

select
    id as customer_id,
    email,
    first_name,
    last_name,
    cast(created_at as timestamp with time zone) as created_at,
    cast(updated_at as timestamp with time zone) as updated_at,
    cast(orders_count as integer) as orders_count,
    {{ to_money('total_spent') }} as total_spent,
    currency
from deduplicated
