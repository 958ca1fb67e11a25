{{ config(materialized='view') }}
{#- Settlement rows with the payout category they count in (docs/architecture.md: Amazon fees and settlements):
    sales = an order's ItemPrice and Promotion rows; refunds = a refund's; fees = every fee Amazon deducts
    (ItemFees, Cost of Advertising, subscription, storage and long-term storage, liquidation fees); other =
    the rest (reimbursements, retrocharges, liquidation proceeds, reserve released and held). -#}
select
    l.*,
    case
        when l.transaction_type = 'Order' and l.amount_type in ('ItemPrice', 'Promotion') then 'sales'
        when l.transaction_type = 'Refund' and l.amount_type in ('ItemPrice', 'Promotion') then 'refunds'
        when l.amount_type in ('ItemFees', 'Cost of Advertising') then 'fees'
        when l.amount_type = 'other-transaction'
            and l.amount_description in ('Subscription Fee', 'Storage Fee', 'StorageRenewalBilling') then 'fees'
        when l.amount_type = 'Liquidations' and l.amount_description = 'LiquidationsFees' then 'fees'
        else 'other'
    end as payout_category
from {{ ref('stg_amazon__settlement_lines') }} as l
