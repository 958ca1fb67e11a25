select
    order_item_id,
    _dlt_parent_id as order_dlt_id,
    asin,
    seller_sku as sku,
    quantity_ordered,
    item_price__currency_code as currency,
    {{ to_money('item_price__amount') }} as item_price,
    {{ to_money('item_tax__amount') }} as item_tax,
    {{ to_money('shipping_price__amount') }} as shipping_price,
    {{ to_money('promotion_discount__amount') }} as promotion_discount
from {{ source('raw_amazon', 'orders__order_items') }}
