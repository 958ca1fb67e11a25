select
    id as refund_line_item_id,
    _dlt_parent_id as refund_dlt_id,
    line_item_id,
    quantity,
    {{ to_money('subtotal') }} as subtotal,
    {{ to_money('total_tax') }} as total_tax
from {{ source('raw_shopify', 'orders__refunds__refund_line_items') }}
