{#- One row per SKU sold anywhere: the Shopify catalog (variant = SKU, the shop's currency is USD) and
    every SKU seen on an order line of any channel (Amazon/eBay list the same PP-xxxx SKUs; one seen only
    there still gets a row, with the catalog attributes null). -#}
with variants as (
    select
        v.sku,
        v.variant_id,
        v.product_id,
        v.price,
        p.title,
        p.product_type,
        p.status,
        row_number() over (partition by v.sku order by v.variant_id) as sku_rank
    from {{ ref('stg_shopify__product_variants') }} as v
    left join {{ ref('stg_shopify__products') }} as p on p.product_id = v.product_id
    where v.sku is not null
),

catalog as (
    select * from variants
    where sku_rank = 1
),

asins as (
    select sku, min(asin) as amazon_asin
    from {{ ref('stg_amazon__order_items') }}
    where sku is not null and asin is not null
    group by sku
),

skus as (
    select sku from catalog
    union
    select sku from {{ ref('stg_shopify__order_line_items') }}
    where sku is not null
    union
    select sku from {{ ref('stg_amazon__order_items') }}
    where sku is not null
    union
    select sku from {{ ref('stg_ebay__order_line_items') }}
    where sku is not null
)

select
    {{ dbt.hash(dbt.concat(["'sku|'", "s.sku"])) }} as product_key,
    s.sku,
    c.title,
    c.product_type,
    c.status as product_status,
    {{ to_money('c.price') }} as list_price_usd,
    c.product_id as shopify_product_id,
    c.variant_id as shopify_variant_id,
    a.amazon_asin,
    c.sku is not null as is_in_catalog
from skus as s
left join catalog as c on c.sku = s.sku
left join asins as a on a.sku = s.sku
