-- One row per line item of an eBay order (raw_ebay.orders__line_items, 1:1), with its order's id resolved here
-- from the dlt parent link: the order version staging keeps (null only for a line of a superseded raw version).
select
    cast(l.line_item_id as varchar) as line_item_id,
    l._dlt_parent_id as order_dlt_id,
    cast(l.sku as varchar) as sku,
    cast(l.quantity as integer) as quantity,
    -- already the line total (unit price × quantity), before discounts
    {{ to_money('l.line_item_cost__value') }} as line_item_cost,
    cast(l.line_item_cost__currency as varchar) as currency,
    o.order_id
from {{ source('raw_ebay', 'orders__line_items') }} as l
left join {{ ref('stg_ebay__orders') }} as o on o.dlt_id = l._dlt_parent_id
