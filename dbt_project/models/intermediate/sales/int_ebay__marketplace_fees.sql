{{ config(materialized='view') }}
{#- eBay fee postings in the conformed fee shape (int_marketplace_fees): totalMarketplaceFee, charged at
    checkout (credited to 0 when the order is cancelled), eBay's final value fee (an order-level fee: no SKU). -#}
select
    'ebay' as channel,
    order_id as fee_posting_id,
    order_id,
    'order' as fee_event,
    created_at as posted_at,
    currency,
    marketplace_fee as fee_amount,
    'FINAL_VALUE_FEE' as fee_type,
    cast(null as varchar) as sku
from {{ ref('stg_ebay__orders') }}
