{#- The validity ranges of every SKU's unit cost, from the snapshot of the costs as loaded
    (snap_shopify__unit_costs, dated by the inventory item's updatedAt), in order-date terms: a version is valid
    from the UTC date of its change (the whole day) to the next version's date, exclusive. Several changes on one
    day: the day's last wins. The FIRST version the warehouse saw also covers every earlier date (valid_from
    1900-01-01): before the first load there is no history to know, and a sale is better costed at the oldest cost
    known than not at all (docs/costs.md, Snapshot dating). A version with a null cost (the shop cleared it) leaves
    its sales uncosted: they are flagged, never costed at zero. -#}
with versions as (
    select
        sku,
        unit_cost,
        unit_cost_currency,
        dbt_valid_from as changed_at,
        cast(dbt_valid_from as date) as changed_on
    from {{ ref('snap_shopify__unit_costs') }}
),

one_per_day as (
    select
        *,
        row_number() over (partition by sku, changed_on order by changed_at desc) as pick
    from versions
),

ordered as (
    select
        sku,
        unit_cost,
        unit_cost_currency,
        changed_at,
        changed_on,
        row_number() over (partition by sku order by changed_on) as version_number,
        lead(changed_on) over (partition by sku order by changed_on) as next_changed_on
    from one_per_day
    where pick = 1
)

select
    sku,
    cast(version_number as integer) as version_number,
    {{ to_money('unit_cost') }} as unit_cost,
    unit_cost_currency,
    changed_at,
    case when version_number = 1 then cast('1900-01-01' as date) else changed_on end as valid_from,
    coalesce(next_changed_on, cast('9999-12-31' as date)) as valid_to,
    version_number = 1 as covers_earlier_sales
from ordered
