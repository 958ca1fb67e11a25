-- Variants are a dlt nested table of products: replaced with their product on merge, so one row per variant
-- (the latest product version's), deduplicated all the same.
with deduplicated as (
    {{ deduplicate(source('raw_shopify', 'products__variants'), 'id', 'updated_at desc, _dlt_id desc') }}
)

select
    id as variant_id,
    product_id,
    sku,
    {{ to_money('price') }} as price
from deduplicated
