-- Variants are a dlt nested table of products: replaced with their product on merge, so one row per variant
-- (the latest product version's), deduplicated all the same. The unit cost is the variant's inventory item's
-- (what a unit costs the shop), in its own currency, dated by the inventory item's updatedAt.
with deduplicated as (
    {{ deduplicate(source('raw_shopify', 'products__variants'), 'id', 'updated_at desc, _dlt_id desc') }}
)

select
    cast(v.legacy_resource_id as bigint) as variant_id,
    p.product_id,
    v.sku,
    {{ to_money('v.price') }} as price,
    {{ to_money('v.inventory_item__unit_cost__amount') }} as unit_cost,
    cast(v.inventory_item__unit_cost__currency_code as varchar) as unit_cost_currency,
    -- the inventory item's last change: with unitCost the only field of it that changes, the time of the cost
    cast(v.inventory_item__updated_at as timestamp with time zone) as unit_cost_updated_at
from deduplicated as v
left join {{ ref('stg_shopify__products') }} as p on p.dlt_id = v._dlt_parent_id
