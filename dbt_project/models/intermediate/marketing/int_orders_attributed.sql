{#- Every Shopify sales order (int_orders.counts_as_sale) credited to one touch by LAST NON-DIRECT CLICK
    (docs/architecture.md, Marketing and the web funnel): its own visit's touch (int_order_touches) unless that was
    Direct; a Direct order takes the own touch of the same Shopify customer's latest earlier sales order whose own
    touch was not Direct, if that order is at most var attribution_lookback_days (30) days older (by timestamp);
    else it stays Direct. A direct order never passes on a touch; a guest order never inherits.
    Earlier = by order time, then order id. The sales amounts are fct_orders' (USD on the order date). -#}
{%- set lookback_hours = (var('attribution_lookback_days') | int) * 24 -%}
with sales as (
    select * from {{ ref('int_order_touches') }}
    where counts_as_sale
),

sequenced as (
    select
        *,
        row_number() over (
            partition by shopify_customer_id order by ordered_at, shopify_order_id
        ) as customer_order_number
    from sales
),

marked as (
    select
        *,
        case when not is_direct then customer_order_number end as touch_order_number
    from sequenced
),

with_prior as (
    select
        *,
        max(touch_order_number) over (
            partition by shopify_customer_id order by customer_order_number
            rows between unbounded preceding and 1 preceding
        ) as prior_touch_order_number
    from marked
),

credited as (
    select
        o.*,
        p.order_id as prior_order_id,
        p.ordered_at as prior_ordered_at,
        p.channel_group as prior_channel_group,
        p.marketing_channel as prior_marketing_channel,
        p.source as prior_source,
        p.medium as prior_medium,
        p.campaign_name as prior_campaign_name,
        p.platform as prior_platform,
        p.campaign_id as prior_campaign_id,
        coalesce(
            o.is_direct
            and p.order_key is not null
            and p.ordered_at >= {{ dbt.dateadd('hour', -lookback_hours, 'o.ordered_at') }},
            false
        ) as takes_prior_touch
    from with_prior as o
    left join marked as p
        on
        o.is_direct
        and o.shopify_customer_id is not null
        and p.shopify_customer_id = o.shopify_customer_id
        and p.customer_order_number = o.prior_touch_order_number
),

refunds as (
    select order_key, sum(refund_amount_usd) as refunds_usd
    from {{ ref('fct_refunds') }}
    group by order_key
)

select
    c.order_key,
    c.shopify_order_id,
    c.order_id,
    c.ordered_at,
    c.order_date,
    c.shopify_customer_id,
    c.customer_key,
    coalesce(co.is_first_order, false) as is_new_customer,
    case when c.takes_prior_touch then c.prior_channel_group else c.channel_group end as channel_group,
    case when c.takes_prior_touch then c.prior_marketing_channel else c.marketing_channel end as marketing_channel,
    case when c.takes_prior_touch then c.prior_source else c.source end as source,
    case when c.takes_prior_touch then c.prior_medium else c.medium end as medium,
    case when c.takes_prior_touch then c.prior_campaign_name else c.campaign_name end as campaign_name,
    case when c.takes_prior_touch then c.prior_platform else c.platform end as platform,
    case when c.takes_prior_touch then c.prior_campaign_id else c.campaign_id end as campaign_id,
    c.takes_prior_touch as is_inherited,
    case when c.takes_prior_touch then c.prior_order_id end as credited_from_order_id,
    c.channel_group as own_channel_group,
    c.marketing_channel as own_marketing_channel,
    c.source as own_source,
    c.medium as own_medium,
    c.campaign_name as own_campaign_name,
    c.platform as own_platform,
    c.campaign_id as own_campaign_id,
    f.gross_sales_usd,
    f.discounts_usd,
    {{ to_money('f.gross_sales_usd - f.discounts_usd') }} as order_net_sales_usd,
    {{ to_money('coalesce(r.refunds_usd, 0)') }} as refunds_to_date_usd
from credited as c
inner join {{ ref('fct_orders') }} as f on f.order_key = c.order_key
left join {{ ref('int_customer_orders') }} as co
    on co.channel = 'shopify' and co.source_order_id = c.order_id
left join refunds as r on r.order_key = c.order_key
