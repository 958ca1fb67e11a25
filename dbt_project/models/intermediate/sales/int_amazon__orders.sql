{{ config(materialized='view') }}
{#- Amazon orders in the conformed order shape (int_orders): ItemPrice and PromotionDiscount summed over items. -#}
with items as (
    select
        order_id,
        min(currency) as currency,
        sum(item_price) as gross_sales,
        sum(promotion_discount) as discounts
    from {{ ref('stg_amazon__order_items') }}
    group by order_id
)

select
    'amazon' as channel,
    o.order_id,
    o.purchased_at as ordered_at,
    coalesce(i.currency, o.order_total_currency) as currency,
    o.buyer_email as customer_ref,
    false as is_test,
    o.is_cancelled,
    coalesce(i.gross_sales, 0) as gross_sales,
    coalesce(i.discounts, 0) as discounts,
    o.updated_at
from {{ ref('stg_amazon__orders') }} as o
left join items as i on i.order_id = o.order_id
