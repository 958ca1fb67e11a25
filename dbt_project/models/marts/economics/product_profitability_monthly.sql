{#- Product profitability per month × SKU × commerce channel, USD (docs/costs.md; docs/architecture.md, Metric
    definitions): units and sales on the order month (an order's lines add up to its fct_orders gross, which is
    converted as a whole: the largest line takes the cents of rounding), discounts allocated to an order's lines pro rata of their
    gross (the largest line takes the rounding rest, so a month's lines add up to its orders), refunds and restocked
    cost on the refund month, marketplace fees on their posted month. Fees that no SKU carries (Amazon's plan
    subscription, eBay's per-order final value fee, ...) and the channel's ad spend that no SKU carries (Amazon
    Sponsored Products campaigns in this world advertise all products or keywords, not a SKU) are on the channel's
    sku = 'UNATTRIBUTED' row, so the rows of a month × channel add up to the channel. -#}
{%- set unattributed = "'UNATTRIBUTED'" %}
{%- set referral_fee_types = ['Commission', 'RefundCommission', 'FINAL_VALUE_FEE'] %}
{%- set fulfilment_fee_types = ['FBAPerUnitFulfillmentFee'] %}
{%- set storage_fee_types = ['FBAStorageFee', 'FBALongTermStorageFee'] %}

with lines as (
    select
        l.order_key,
        l.order_line_key,
        l.channel,
        l.sku,
        l.order_date,
        l.quantity,
        l.gross_sales_usd as line_gross_usd,
        coalesce(l.cogs_usd, 0) as cogs_usd,
        case when l.is_cost_missing then l.quantity else 0 end as cost_missing_units,
        o.gross_sales_usd as order_gross_usd,
        o.discounts_usd as order_discounts_usd,
        sum(l.gross_sales_usd) over (partition by l.order_key) as order_lines_gross_usd,
        row_number() over (partition by l.order_key order by l.gross_sales_usd desc, l.order_line_key asc) as line_rank
    from {{ ref('fct_order_lines') }} as l
    inner join {{ ref('fct_orders') }} as o on o.order_key = l.order_key
    where l.counts_as_sale
),

lines_published as (
    -- lines are converted to USD one by one, the order as a whole (fct_orders, the revenue figure): the largest
    -- line takes the cents of difference, so an order's lines add up to it
    select
        *,
        line_gross_usd + case
            when line_rank = 1 then order_gross_usd - order_lines_gross_usd else 0
        end as gross_sales_usd
    from lines
),

shares as (
    select
        *,
        case
            when order_gross_usd <> 0 then round(order_discounts_usd * gross_sales_usd / order_gross_usd, 2)
            else 0
        end as share_usd
    from lines_published
),

allocated as (
    select
        *,
        share_usd + case
            when line_rank = 1 then order_discounts_usd - sum(share_usd) over (partition by order_key) else 0
        end as discounts_usd
    from shares
),

postings as (
    select
        cast({{ dbt.date_trunc('month', 'order_date') }} as date) as month_start,
        coalesce(sku, {{ unattributed }}) as sku,
        channel,
        {{- posting_measures({
            'units': 'quantity', 'gross_sales_usd': 'gross_sales_usd', 'discounts_usd': 'discounts_usd',
            'cogs_usd': 'cogs_usd', 'cost_missing_units': 'cost_missing_units',
        }) }}
    from allocated
    union all
    select
        cast({{ dbt.date_trunc('month', 'refund_date') }} as date) as month_start,
        coalesce(sku, {{ unattributed }}) as sku,
        channel,
        {{- posting_measures({
            'refunds_usd': 'refund_amount_usd', 'restocked_cost_usd': 'coalesce(restocked_cost_usd, 0)',
        }) }}
    from {{ ref('fct_refunds') }}
    where order_counts_as_sale
    union all
    select
        cast({{ dbt.date_trunc('month', 'posted_date') }} as date) as month_start,
        coalesce(sku, {{ unattributed }}) as sku,
        channel,
        {{- posting_measures({
            'referral_fees_usd': fee_of_types(referral_fee_types),
            'fulfilment_fees_usd': fee_of_types(fulfilment_fee_types),
            'storage_fees_usd': fee_of_types(storage_fee_types),
            'other_fees_usd': 'fee_amount_usd - ' ~ fee_of_types(
                referral_fee_types + fulfilment_fee_types + storage_fee_types
            ),
        }) }}
    from {{ ref('fct_marketplace_fees') }}
    where order_counts_as_sale and counts_as_marketplace_fee
    union all
    select
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start,
        coalesce(null, {{ unattributed }}) as sku,
        'amazon' as channel,
        {{- posting_measures({'ad_spend_usd': 'spend_usd'}) }}
    from {{ ref('fct_ad_spend_daily') }}
    where platform = 'amazon_ads'
),

monthly as (
    select
        month_start,
        sku,
        channel,
        sum(units) as units,
        sum(gross_sales_usd) as gross_sales_usd,
        sum(discounts_usd) as discounts_usd,
        sum(refunds_usd) as refunds_usd,
        sum(cogs_usd) - sum(restocked_cost_usd) as cogs_usd,
        sum(restocked_cost_usd) as restocked_cost_usd,
        sum(cost_missing_units) as cost_missing_units,
        sum(referral_fees_usd) as referral_fees_usd,
        sum(fulfilment_fees_usd) as fulfilment_fees_usd,
        sum(storage_fees_usd) as storage_fees_usd,
        sum(other_fees_usd) as other_fees_usd,
        sum(ad_spend_usd) as ad_spend_usd
    from postings
    group by month_start, sku, channel
),

measured as (
    select
        *,
        gross_sales_usd - discounts_usd - refunds_usd as net_sales_usd,
        referral_fees_usd + fulfilment_fees_usd + storage_fees_usd + other_fees_usd as marketplace_fees_usd
    from monthly
)

select
    month_start,
    sku,
    channel,
    cast(units as integer) as units,
    {{ to_money('gross_sales_usd') }} as gross_sales_usd,
    {{ to_money('discounts_usd') }} as discounts_usd,
    {{ to_money('refunds_usd') }} as refunds_usd,
    {{ to_money('net_sales_usd') }} as net_sales_usd,
    {{ to_money('cogs_usd') }} as cogs_usd,
    {{ to_money('restocked_cost_usd') }} as restocked_cost_usd,
    cast(cost_missing_units as integer) as cost_missing_units,
    {{ to_money('net_sales_usd - cogs_usd') }} as gross_margin_usd,
    {{ to_money('marketplace_fees_usd') }} as marketplace_fees_usd,
    {{ to_money('referral_fees_usd') }} as referral_fees_usd,
    {{ to_money('fulfilment_fees_usd') }} as fulfilment_fees_usd,
    {{ to_money('storage_fees_usd') }} as storage_fees_usd,
    {{ to_money('other_fees_usd') }} as other_fees_usd,
    {{ to_money('ad_spend_usd') }} as ad_spend_usd,
    sku <> {{ unattributed }} as is_sku,
    {{ to_money('net_sales_usd - cogs_usd - marketplace_fees_usd - ad_spend_usd') }} as contribution_margin_usd,
    {{ when_positive_ratio_exact(
        'net_sales_usd - cogs_usd - marketplace_fees_usd - ad_spend_usd', 'net_sales_usd', 4
    ) }} as contribution_margin_pct
from measured
