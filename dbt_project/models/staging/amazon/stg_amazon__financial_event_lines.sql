-- One row per money line of an Amazon Finances event of any list (raw: merged on event_line_id, so 1:1 with raw
-- and unique). Amounts signed as Amazon posts them: charges to the seller are negative.
select
    event_line_id,
    event_type,
    amazon_order_id,
    cast(posted_date as timestamp with time zone) as posted_at,
    order_item_id,
    seller_sku,
    line_kind,
    line_type,
    {{ to_money('amount') }} as amount,
    currency,
    cast(event_reference as varchar) as event_reference
from {{ source('raw_amazon', 'financial_event_lines') }}
