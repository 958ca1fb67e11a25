{#- Conformed customer dimension from identity resolution (int_customer_identities): no email or name in
    clear text, only email_hash. First order: the first counted commerce order across all channels
    (for a company, its first won B2B deal). Lifetime figures, churn and LTV as of the customers' as-of date:
    int_customer_lifetimes_summarized (docs/cohorts.md). -#}
with customers as (
    select * from {{ ref('int_customers') }}
),

first_orders as (
    select customer_key, order_date, channel
    from {{ ref('int_customer_orders') }}
    where is_first_order
),

lifetimes as (
    select * from {{ ref('int_customer_lifetimes_summarized') }}
)

select
    c.customer_key,
    c.customer_type,
    c.email_hash,
    c.first_seen_at,
    c.sources,
    c.crm_contact_id,
    c.crm_company_id,
    c.shopify_customer_id,
    cast(c.shopify_accounts as integer) as shopify_accounts,
    c.is_matched_across_sources,
    f.order_date as first_order_date,
    f.channel as first_order_channel,
    coalesce(l.lifetime_orders, 0) as lifetime_orders,
    coalesce(l.lifetime_net_sales_usd, cast(0 as decimal(18, 2))) as lifetime_net_sales_usd,
    l.lifetime_contribution_usd,
    l.last_order_date,
    l.days_since_last_order,
    l.is_churned,
    l.ltv_12m_usd
from customers as c
left join first_orders as f on f.customer_key = c.customer_key
left join lifetimes as l on l.customer_key = c.customer_key
