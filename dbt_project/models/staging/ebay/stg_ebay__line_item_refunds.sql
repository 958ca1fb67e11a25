-- One row per refund of an eBay order line (raw_ebay.orders__line_items__refunds, lineItems[].refunds[]: the same
-- refunds as paymentSummary.refunds, by line), with the line's SKU: which product a refund was for. dlt creates
-- the raw table with the first line refund it loads: until then this view is empty (macros/raw_relation.sql).
-- depends_on: {{ source('raw_ebay', 'orders__line_items__refunds') }}
{%- if raw_table_exists('raw_ebay', 'orders__line_items__refunds') %}
    select
        cast(r.refund_id as varchar) as refund_id,
        cast(l.line_item_id as varchar) as line_item_id,
        cast(l.sku as varchar) as sku
    from {{ source('raw_ebay', 'orders__line_items__refunds') }} as r
    inner join {{ source('raw_ebay', 'orders__line_items') }} as l on l._dlt_id = r._dlt_parent_id
{%- else %}
    select
        cast(null as varchar) as refund_id,
        cast(null as varchar) as line_item_id,
        cast(null as varchar) as sku
    where false
{%- endif %}
