select
    cast(line_item_id as varchar) as line_item_id,
    _dlt_parent_id as order_dlt_id,
    cast(sku as varchar) as sku,
    cast(quantity as integer) as quantity,
    -- already the line total (unit price × quantity), before discounts
    {{ to_money('line_item_cost__value') }} as line_item_cost,
    cast(line_item_cost__currency as varchar) as currency
from {{ source('raw_ebay', 'orders__line_items') }}
