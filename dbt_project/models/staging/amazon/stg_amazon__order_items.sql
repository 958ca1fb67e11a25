-- One row per item of an Amazon order (raw_amazon.orders__order_items, 1:1), with its order's id resolved here
-- from the dlt parent link: the order version staging keeps (null only for an item of a superseded raw version).
-- The item key is the source's ItemKey (<AmazonOrderId>-<SellerSKU>-<n>), the same whether the order came through
-- getOrderItems or the order report (whose rows carry no OrderItemId).
select
    i.item_key as order_item_id,
    i.order_item_id as amazon_order_item_id,
    i._dlt_parent_id as order_dlt_id,
    i.asin,
    i.seller_sku as sku,
    i.quantity_ordered,
    i.item_price__currency_code as currency,
    {{ to_money('i.item_price__amount') }} as item_price,
    {{ to_money('i.item_tax__amount') }} as item_tax,
    {{ to_money('i.shipping_price__amount') }} as shipping_price,
    {{ to_money('i.promotion_discount__amount') }} as promotion_discount,
    o.order_id
from {{ source('raw_amazon', 'orders__order_items') }} as i
left join {{ ref('stg_amazon__orders') }} as o on o.dlt_id = i._dlt_parent_id
