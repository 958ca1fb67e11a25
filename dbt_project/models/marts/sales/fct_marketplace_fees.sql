{#- Marketplace fees as posted: positive = charged to us, negative = credited back. -#}
with amazon as (
    -- one Amazon financial event (shipment or refund) of an order: −Σ its fee lines
    select
        'amazon' as channel,
        amazon_order_id || '|' || event_type || '|' || cast(posted_at as varchar) as fee_posting_id,
        amazon_order_id as order_id,
        event_type as fee_event,
        posted_at,
        min(currency) as currency,
        true as order_counts_as_sale,
        -sum(amount) as fee_amount
    from {{ ref('stg_amazon__financial_event_lines') }}
    where line_kind = 'fee'
    group by amazon_order_id, event_type, posted_at
),

ebay as (
    -- eBay charges totalMarketplaceFee at checkout (credited to 0 when the order is cancelled)
    select
        'ebay' as channel,
        order_id as fee_posting_id,
        order_id,
        'order' as fee_event,
        created_at as posted_at,
        currency,
        not is_cancelled as order_counts_as_sale,
        marketplace_fee as fee_amount
    from {{ ref('stg_ebay__orders') }}
),

fees as (
    select * from amazon
    union all
    select * from ebay
),

dated as (
    select *, cast(posted_at as date) as posted_date from fees
)

select
    {{ dbt.hash(dbt.concat(["f.channel", "'|'", "f.fee_posting_id"])) }} as fee_posting_key,
    {{ dbt.hash(dbt.concat(["f.channel", "'|'", "f.order_id"])) }} as order_key,
    f.channel,
    f.fee_posting_id,
    f.order_id,
    f.fee_event,
    f.posted_at,
    f.posted_date,
    f.currency,
    f.order_counts_as_sale,
    {{ to_money('f.fee_amount') }} as fee_amount,
    {{ to_usd('f.fee_amount', usd_per_unit('r', 'f.currency')) }} as fee_amount_usd
from dated as f
{{ join_fx_rate('r', 'f.currency', 'f.posted_date') }}
