{{ config(materialized='view') }}
{#- Shopify refund lines in the conformed refund shape (int_refunds): the line subtotal (after discounts,
    excluding tax), in the order's currency, with the refunded line's SKU. -#}
select
    'shopify' as channel,
    cast(rl.refund_line_item_id as varchar) as refund_line_id,
    cast(r.refund_id as varchar) as refund_id,
    cast(r.order_id as varchar) as order_id,
    r.created_at as refunded_at,
    o.currency,
    rl.subtotal as refund_amount,
    li.sku
from {{ ref('stg_shopify__refund_line_items') }} as rl
inner join {{ ref('stg_shopify__refunds') }} as r on r.refund_id = rl.refund_id
inner join {{ ref('stg_shopify__orders') }} as o on o.order_id = r.order_id
left join {{ ref('stg_shopify__order_line_items') }} as li on li.line_item_id = rl.line_item_id
