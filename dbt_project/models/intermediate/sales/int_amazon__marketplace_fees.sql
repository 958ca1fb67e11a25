{{ config(materialized='view') }}
{#- Amazon fee lines in the conformed fee shape (int_marketplace_fees): one per fee line of any financial event
    (shipment, refund, service fee, ads invoice, liquidation), −amount (positive = charged to us, negative =
    credited back), with its fee type and SKU. -#}
select
    'amazon' as channel,
    event_line_id as fee_posting_id,
    amazon_order_id as order_id,
    event_type as fee_event,
    posted_at,
    currency,
    cast(-amount as decimal(18, 2)) as fee_amount,
    line_type as fee_type,
    seller_sku as sku
from {{ ref('stg_amazon__financial_event_lines') }}
where line_kind = 'fee'
