-- One row per line of a Shopify abandoned checkout (raw_shopify.abandoned_checkouts__line_items, 1:1), with its
-- checkout's id resolved from the dlt parent link (null only for a line of a superseded raw version).
select
    cast(l.id as varchar) as line_key,
    cast(l._dlt_parent_id as varchar) as checkout_dlt_id,
    c.checkout_id,
    cast(l._dlt_list_idx as integer) as line_index,
    cast(l.product__legacy_resource_id as bigint) as product_id,
    cast(l.variant__legacy_resource_id as bigint) as variant_id,
    cast(l.sku as varchar) as sku,
    cast(l.title as varchar) as title,
    cast(l.quantity as integer) as quantity,
    {{ to_money('l.original_unit_price_set__shop_money__amount') }} as unit_price,
    {{ to_money('l.original_total_price_set__shop_money__amount') }} as line_price
from {{ source('raw_shopify', 'abandoned_checkouts__line_items') }} as l
left join {{ ref('stg_shopify__abandoned_checkouts') }} as c on c.dlt_id = l._dlt_parent_id
