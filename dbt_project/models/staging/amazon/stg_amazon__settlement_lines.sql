-- One row per amount row of an Amazon settlement flat file (raw merged on settlement_line_id: 1:1, unique), signed
-- as Amazon writes it (money to the seller positive). Empty until the first settlement is loaded.
-- depends_on: {{ source('raw_amazon', 'settlement_lines') }}
{%- if raw_table_exists('raw_amazon', 'settlement_lines') %}
    select
        cast(settlement_line_id as varchar) as settlement_line_id,
        cast(settlement_id as varchar) as settlement_id,
        cast(line_number as integer) as line_number,
        cast(transaction_type as varchar) as transaction_type,
        cast(order_id as varchar) as order_id,
        cast(adjustment_id as varchar) as adjustment_id,
        cast(marketplace_name as varchar) as marketplace_name,
        cast(amount_type as varchar) as amount_type,
        cast(amount_description as varchar) as amount_description,
        {{ to_money('amount') }} as amount,
        cast(currency as varchar) as currency,
        cast(posted_at as timestamp with time zone) as posted_at,
        cast(sku as varchar) as sku,
        cast(quantity_purchased as integer) as quantity_purchased
    from {{ source('raw_amazon', 'settlement_lines') }}
{%- else %}
    select
        cast(null as varchar) as settlement_line_id,
        cast(null as varchar) as settlement_id,
        cast(null as integer) as line_number,
        cast(null as varchar) as transaction_type,
        cast(null as varchar) as order_id,
        cast(null as varchar) as adjustment_id,
        cast(null as varchar) as marketplace_name,
        cast(null as varchar) as amount_type,
        cast(null as varchar) as amount_description,
        cast(null as decimal(18, 2)) as amount,
        cast(null as varchar) as currency,
        cast(null as timestamp with time zone) as posted_at,
        cast(null as varchar) as sku,
        cast(null as integer) as quantity_purchased
    where false
{%- endif %}
