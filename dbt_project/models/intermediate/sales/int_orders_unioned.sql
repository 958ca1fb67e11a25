{#- Commerce orders of every channel in one shape, amounts in the order's own currency. -#}
with shopify_lines as (
    select order_dlt_id, sum(unit_price * quantity) as gross_sales
    from {{ ref('stg_shopify__order_line_items') }}
    group by order_dlt_id
),

shopify as (
    select
        'shopify' as channel,
        cast(o.order_id as varchar) as order_id,
        o.created_at as ordered_at,
        o.currency,
        cast(o.customer_id as varchar) as customer_ref,
        o.is_test,
        o.is_cancelled,
        coalesce(l.gross_sales, 0) as gross_sales,
        o.total_discounts as discounts,
        o.updated_at
    from {{ ref('stg_shopify__orders') }} as o
    left join shopify_lines as l on l.order_dlt_id = o.dlt_id
),

amazon_items as (
    select
        order_dlt_id,
        min(currency) as currency,
        sum(item_price) as gross_sales,
        sum(promotion_discount) as discounts
    from {{ ref('stg_amazon__order_items') }}
    group by order_dlt_id
),

amazon as (
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
    left join amazon_items as i on i.order_dlt_id = o.dlt_id
),

ebay_lines as (
    select order_dlt_id, min(currency) as currency, sum(line_item_cost) as gross_sales
    from {{ ref('stg_ebay__order_line_items') }}
    group by order_dlt_id
),

ebay as (
    select
        'ebay' as channel,
        o.order_id,
        o.created_at as ordered_at,
        coalesce(l.currency, o.currency) as currency,
        o.buyer_username as customer_ref,
        false as is_test,
        o.is_cancelled,
        coalesce(l.gross_sales, 0) as gross_sales,
        o.discounts,
        o.updated_at
    from {{ ref('stg_ebay__orders') }} as o
    left join ebay_lines as l on l.order_dlt_id = o.dlt_id
)

select * from shopify
union all
select * from amazon
union all
select * from ebay
