with refund_lines as (
    select * from {{ ref('stg_shopify__refund_line_items') }}
),

refunds as (
    select * from {{ ref('stg_shopify__refunds') }}
),

orders as (
    select order_id, currency, is_test from {{ ref('stg_shopify__orders') }}
),

joined as (
    select
        'shopify' as channel,
        cast(rl.refund_line_item_id as varchar) as refund_line_id,
        cast(r.refund_id as varchar) as refund_id,
        cast(r.order_id as varchar) as order_id,
        r.created_at as refunded_at,
        cast(r.created_at as date) as refund_date,
        o.currency,
        o.is_test as is_test_order,
        rl.subtotal as refund_amount
    from refund_lines as rl
    inner join refunds as r on r.refund_dlt_id = rl.refund_dlt_id
    inner join orders as o on o.order_id = r.order_id
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
    j.is_test_order,
    {{ to_money('j.refund_amount') }} as refund_amount,
    {{ to_usd('j.refund_amount', usd_per_unit('r', 'j.currency')) }} as refund_amount_usd
from joined as j
{{ join_fx_rate('r', 'j.currency', 'j.refund_date') }}
