{{ config(materialized='view') }}
{#- Amazon RefundEvents in the conformed refund shape (int_refunds), one per order × posted time × SKU: the
    refunded principal after its promotion, positive (Amazon posts both negative, so the sum is negated). -#}
select
    'amazon' as channel,
    amazon_order_id || '|' || cast(posted_at as varchar) || coalesce('|' || seller_sku, '') as refund_line_id,
    amazon_order_id || '|' || cast(posted_at as varchar) as refund_id,
    amazon_order_id as order_id,
    posted_at as refunded_at,
    min(currency) as currency,
    cast(
        -sum(
            case
                when line_kind = 'promotion' or (line_kind = 'charge' and line_type = 'Principal') then amount
                else 0
            end
        ) as decimal(18, 2)
    ) as refund_amount,
    seller_sku as sku
from {{ ref('stg_amazon__financial_event_lines') }}
where event_type = 'refund'
group by amazon_order_id, posted_at, seller_sku
