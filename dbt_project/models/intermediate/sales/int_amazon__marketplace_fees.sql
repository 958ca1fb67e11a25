{{ config(materialized='view') }}
{#- Amazon fee postings in the conformed fee shape (int_marketplace_fees): one per financial event (shipment or
    refund) of an order, −Σ its fee lines (positive = charged to us, negative = credited back). -#}
select
    'amazon' as channel,
    amazon_order_id || '|' || event_type || '|' || cast(posted_at as varchar) as fee_posting_id,
    amazon_order_id as order_id,
    event_type as fee_event,
    posted_at,
    min(currency) as currency,
    cast(-sum(amount) as decimal(18, 2)) as fee_amount
from {{ ref('stg_amazon__financial_event_lines') }}
where line_kind = 'fee'
group by amazon_order_id, event_type, posted_at
