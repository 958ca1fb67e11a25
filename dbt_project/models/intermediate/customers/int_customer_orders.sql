{#- Every counted-or-not commerce order and every won B2B deal with the resolved customer behind it, and the
    customer's first counted order ever (DESIGN §6 "new customer": across all commerce channels, resolved;
    for channel b2b, a company's first won deal). A deal with several companies gives one row per company. -#}
with identities as (
    select * from {{ ref('int_customer_identities') }}
),

commerce as (
    select
        o.channel,
        o.order_id as source_order_id,
        o.ordered_at,
        cast(o.ordered_at as date) as order_date,
        i.customer_key,
        not o.is_test and not o.is_cancelled as counts_as_sale
    from {{ ref('int_orders_unioned') }} as o
    left join identities as i
        on i.channel = o.channel and i.source_id = o.customer_ref
),

b2b as (
    select
        'b2b' as channel,
        d.deal_id as source_order_id,
        d.closed_at as ordered_at,
        cast(d.closed_at as date) as order_date,
        i.customer_key,
        d.is_won and not d.is_archived as counts_as_sale
    from {{ ref('stg_crm__deals') }} as d
    inner join {{ ref('stg_crm__deal_companies') }} as dc on dc.deal_id = d.deal_id
    left join identities as i
        on i.identity_type = 'crm_company' and i.source_id = dc.company_id
    where d.is_won and not d.is_archived
),

orders as (
    select * from commerce
    union all
    select * from b2b
),

ranked as (
    select
        *,
        case when counts_as_sale and customer_key is not null
             then row_number() over (
                partition by customer_key, counts_as_sale
                order by ordered_at, channel, source_order_id) end as counted_order_number
    from orders
)

select
    channel,
    source_order_id,
    ordered_at,
    order_date,
    customer_key,
    counts_as_sale,
    counted_order_number,
    coalesce(counted_order_number = 1, false) as is_first_order
from ranked
