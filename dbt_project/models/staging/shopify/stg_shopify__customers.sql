-- PII (email, names): kept to staging; marts see customers through identity resolution and email hashes only.
with deduplicated as (
    {{ deduplicate(source('raw_shopify', 'customers'), 'id', 'updated_at desc, _dlt_load_id desc') }}
)

select
    cast(legacy_resource_id as bigint) as customer_id,
    default_email_address__email_address as email,
    first_name,
    last_name,
    cast(created_at as timestamp with time zone) as created_at,
    cast(updated_at as timestamp with time zone) as updated_at,
    cast(number_of_orders as integer) as orders_count,
    {{ to_money('amount_spent__amount') }} as total_spent,
    amount_spent__currency_code as currency
from deduplicated
