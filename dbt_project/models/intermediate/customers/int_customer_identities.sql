{#- Identity resolution (docs/architecture.md, Data path): one row per identity a source system knows, with the resolved
    customer it belongs to. Rules:
    - an email is normalized as lower(trim()) after removing tabs and line breaks (the CRM has addresses
      typed with a trailing tab); a CRM contact and a Shopify customer (or two Shopify accounts) with the
      same normalized email are ONE person;
    - Amazon buyers (marketplace-anonymized relay addresses) and eBay buyers are customers of their own
      marketplace and never match anyone; a relay address typed into the CRM or Shopify never matches either;
    - a CRM company is one customer (channel b2b).
    customer_key = hash of the resolution key, so it is stable as long as the email/id it rests on is.
    No email or name leaves this model in clear text: only email_hash. -#}
{%- set normalized = "lower(trim(replace(replace(replace(COL, '" ~ "\t" ~ "', ''), '" ~ "\r" ~ "', ''), '" ~ "\n" ~ "', '')))" -%}
{%- set relay = "like '%@marketplace.amazon.%'" -%}

with crm_contacts as (
    select
        'crm' as source,
        'crm_contact' as identity_type,
        cast(contact_id as {{ dbt.type_string() }}) as source_id,
        cast(null as {{ dbt.type_string() }}) as channel,
        cast(null as {{ dbt.type_bigint() }}) as shopify_customer_id,
        {{ normalized | replace('COL', 'email') }} as email_normalized,
        created_at
    from {{ ref('stg_crm__contacts') }}
),

shopify_customers as (
    select customer_id, email, created_at from {{ ref('stg_shopify__customers') }}
    union all
    -- customers an order refers to before (or without) the customers endpoint delivering them
    select customer_id, min(email) as email, min(created_at) as created_at
    from {{ ref('stg_shopify__orders') }}
    where customer_id is not null
        and customer_id not in (select customer_id from {{ ref('stg_shopify__customers') }})
    group by customer_id
),

shopify as (
    select
        'shopify' as source,
        'shopify_customer' as identity_type,
        cast(customer_id as {{ dbt.type_string() }}) as source_id,
        'shopify' as channel,
        cast(customer_id as {{ dbt.type_bigint() }}) as shopify_customer_id,
        {{ normalized | replace('COL', 'email') }} as email_normalized,
        created_at
    from shopify_customers
),

amazon as (
    select
        'amazon' as source,
        'amazon_buyer' as identity_type,
        buyer_email as source_id,
        'amazon' as channel,
        cast(null as {{ dbt.type_bigint() }}) as shopify_customer_id,
        {{ normalized | replace('COL', 'buyer_email') }} as email_normalized,
        min(purchased_at) as created_at
    from {{ ref('stg_amazon__orders') }}
    where buyer_email is not null
    group by buyer_email
),

ebay as (
    select
        'ebay' as source,
        'ebay_buyer' as identity_type,
        buyer_username as source_id,
        'ebay' as channel,
        cast(null as {{ dbt.type_bigint() }}) as shopify_customer_id,
        cast(null as {{ dbt.type_string() }}) as email_normalized,
        min(created_at) as created_at
    from {{ ref('stg_ebay__orders') }}
    where buyer_username is not null
    group by buyer_username
),

crm_companies as (
    select
        'crm' as source,
        'crm_company' as identity_type,
        cast(company_id as {{ dbt.type_string() }}) as source_id,
        cast(null as {{ dbt.type_string() }}) as channel,
        cast(null as {{ dbt.type_bigint() }}) as shopify_customer_id,
        cast(null as {{ dbt.type_string() }}) as email_normalized,
        created_at
    from {{ ref('stg_crm__companies') }}
),

identities as (
    select * from crm_contacts
    union all
    select * from shopify
    union all
    select * from amazon
    union all
    select * from ebay
    union all
    select * from crm_companies
),

keyed as (
    select
        *,
        case
            when identity_type in ('crm_contact', 'shopify_customer')
                and email_normalized is not null and email_normalized <> ''
                and not (email_normalized {{ relay }})
                then {{ dbt.concat(["'email|'", "email_normalized"]) }}
            when identity_type = 'amazon_buyer'
                then {{ dbt.concat(["'amazon|'", "coalesce(email_normalized, source_id)"]) }}
            when identity_type = 'ebay_buyer'
                then {{ dbt.concat(["'ebay|'", "lower(trim(source_id))"]) }}
            when identity_type = 'crm_company'
                then {{ dbt.concat(["'company|'", "source_id"]) }}
            else {{ dbt.concat(["identity_type", "'|'", "source_id"]) }}
        end as resolution_key
    from identities
)

select
    {{ dbt.hash('resolution_key') }} as customer_key,
    source,
    identity_type,
    source_id,
    case identity_type
        when 'crm_company' then 'company'
        when 'amazon_buyer' then 'marketplace_buyer'
        when 'ebay_buyer' then 'marketplace_buyer'
        else 'person'
    end as customer_type,
    channel,
    -- the key fct_orders gives the order's customer (hash of channel and the channel's own customer ref)
    case
        when channel is not null then {{ dbt.hash(dbt.concat(["channel", "'|'", "source_id"])) }}
    end as channel_customer_key,
    shopify_customer_id,
    case
        when email_normalized is not null and email_normalized <> '' then {{ dbt.hash('email_normalized') }}
    end as email_hash,
    created_at
from keyed
