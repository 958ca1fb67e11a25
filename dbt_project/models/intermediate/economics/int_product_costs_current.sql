{#- The unit cost of every SKU as Shopify shows it NOW (the variant's inventory item unitCost): Shopify keeps it
    current and does not version it, so snapshots/snap_shopify__unit_costs records one version per observed change,
    dated by the inventory item's updatedAt (docs/costs.md). A variant without a SKU cannot be costed and is left
    out; a SKU on two variants keeps the most recently changed cost. -#}
with variants as (
    select
        sku,
        unit_cost,
        unit_cost_currency,
        unit_cost_updated_at,
        row_number() over (partition by sku order by unit_cost_updated_at desc, variant_id desc) as pick
    from {{ ref('stg_shopify__product_variants') }}
    where sku is not null
)

select
    sku,
    unit_cost,
    unit_cost_currency,
    -- naive UTC: the snapshot's validity columns are plain timestamps
    cast(unit_cost_updated_at as {{ dbt.type_timestamp() }}) as updated_at
from variants
where pick = 1
