{#- One row per resolved customer (person, company or marketplace buyer) with the identities behind it. -#}
with identities as (
    select * from {{ ref('int_customer_identities') }}
),

source_labels as (
    select distinct customer_key, source from identities
),

sources as (
    select
        customer_key,
        {{ dbt.listagg('source', "','", 'order by source') }} as sources,
        count(*) as source_count
    from source_labels
    group by customer_key
)

select
    i.customer_key,
    min(i.customer_type) as customer_type,
    max(i.email_hash) as email_hash,
    min(i.created_at) as first_seen_at,
    max(s.sources) as sources,
    min(case when i.identity_type = 'crm_contact' then i.source_id end) as crm_contact_id,
    min(case when i.identity_type = 'crm_company' then i.source_id end) as crm_company_id,
    min(i.shopify_customer_id) as shopify_customer_id,
    sum(case when i.identity_type = 'shopify_customer' then 1 else 0 end) as shopify_accounts,
    max(s.source_count) > 1 as is_matched_across_sources
from identities as i
inner join sources as s on s.customer_key = i.customer_key
group by i.customer_key
