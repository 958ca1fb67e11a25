select
    id as line_item_id,
    _dlt_parent_id as order_dlt_id,
    product_id,
    variant_id,
    sku,
    title,
    quantity,
    {{ to_money('price') }} as unit_price
from {{ source('raw_shopify', 'orders__line_items') }}
