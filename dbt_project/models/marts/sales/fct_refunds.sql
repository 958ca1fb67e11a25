{#- Every refund posting of every commerce channel, booked on its own UTC date. -#}
with shopify as (
    select
        'shopify' as channel,
        cast(rl.refund_line_item_id as varchar) as refund_line_id,
        cast(r.refund_id as varchar) as refund_id,
        cast(r.order_id as varchar) as order_id,
        r.created_at as refunded_at,
        o.currency,
        not o.is_test and not o.is_cancelled as order_counts_as_sale,
        rl.subtotal as refund_amount
    from {{ ref('stg_shopify__refund_line_items') }} as rl
    inner join {{ ref('stg_shopify__refunds') }} as r on r.refund_dlt_id = rl.refund_dlt_id
    inner join {{ ref('stg_shopify__orders') }} as o on o.order_id = r.order_id
),

amazon as (
    -- a RefundEvent: the refunded principal after its promotion, positive (Amazon posts both negative)
    select
        'amazon' as channel,
        amazon_order_id || '|' || cast(posted_at as varchar) as refund_line_id,
        amazon_order_id || '|' || cast(posted_at as varchar) as refund_id,
        amazon_order_id as order_id,
        posted_at as refunded_at,
        min(currency) as currency,
        true as order_counts_as_sale,
        -sum(case when line_kind = 'promotion' or (line_kind = 'charge' and line_type = 'Principal')
                  then amount else 0 end) as refund_amount
    from {{ ref('stg_amazon__financial_event_lines') }}
    where event_type = 'refund'
    group by amazon_order_id, posted_at
),

ebay as (
    select
        'ebay' as channel,
        r.refund_id as refund_line_id,
        r.refund_id,
        o.order_id,
        r.refunded_at,
        r.currency,
        not o.is_cancelled as order_counts_as_sale,
        r.amount as refund_amount
    from {{ ref('stg_ebay__refunds') }} as r
    inner join {{ ref('stg_ebay__orders') }} as o on o.dlt_id = r.order_dlt_id
),

refunds as (
    select * from shopify
    union all
    select * from amazon
    union all
    select * from ebay
),

dated as (
    select *, cast(refunded_at as date) as refund_date from refunds
)

select
    {{ dbt.hash(dbt.concat(["j.channel", "'|'", "j.refund_line_id"])) }} as refund_line_key,
    {{ dbt.hash(dbt.concat(["j.channel", "'|'", "j.order_id"])) }} as order_key,
    j.channel,
    j.refund_id,
    j.refund_line_id,
    j.order_id,
    j.refunded_at,
    j.refund_date,
    j.currency,
    j.order_counts_as_sale,
    {{ to_money('j.refund_amount') }} as refund_amount,
    {{ to_usd('j.refund_amount', usd_per_unit('r', 'j.currency')) }} as refund_amount_usd
from dated as j
{{ join_fx_rate('r', 'j.currency', 'j.refund_date') }}
