{#- Every counted-or-not commerce order and every won B2B deal with the resolved customer behind it, and the
    customer's first counted order ever (docs/architecture.md, Metric definitions, "new customer": across all commerce channels, resolved;
    for channel b2b, a company's first won deal). A deal with several companies gives one row per company. -#}
with identities as (
    select * from {{ ref('int_customer_identities') }}
),

commerce as (
    -- counts_as_sale and the resolved customer_key as int_orders defines them
    select
        channel,
        order_id as source_order_id,
        ordered_at,
        order_date,
        customer_key,
        counts_as_sale
    from {{ ref('int_orders') }}
),

b2b as (
    -- a B2B "order" is a booking (int_deals.is_booked: won, not archived)
    select
        'b2b' as channel,
        d.deal_id as source_order_id,
        d.closed_at as ordered_at,
        cast(d.closed_at as date) as order_date,
        i.customer_key,
        d.is_booked as counts_as_sale
    from {{ ref('int_deals') }} as d
    inner join {{ ref('stg_crm__deal_companies') }} as dc on dc.deal_id = d.deal_id
    left join identities as i
        on i.identity_type = 'crm_company' and i.source_id = dc.company_id
    where d.is_booked
),

orders as (
    select * from commerce
    union all
    select * from b2b
),

ranked as (
    select
        *,
        case
            when counts_as_sale and customer_key is not null
                then row_number() over (
                        partition by customer_key, counts_as_sale
                        order by ordered_at, channel, source_order_id
                    )
        end as counted_order_number
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
