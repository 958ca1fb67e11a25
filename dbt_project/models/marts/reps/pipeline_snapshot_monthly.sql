-- Open pipeline as it was at each month start (docs/architecture.md: Deals as a pipeline), rebuilt from the deal property histories
-- (int_deal_pipeline_snapshots). Grain: snapshot_month × rep_id × territory × expected_close_month ×
-- forecast_category × stage. USD per deal at the snapshot date's rate, then summed; weighted by the stage's
-- win probability (pipeline stages) per deal, rounded once per row.
select
    snapshot_month,
    rep_id,
    territory,
    expected_close_month,
    forecast_category,
    deal_stage as stage,
    cast(count(*) as integer) as deals,
    cast(sum(amount_usd) as decimal(18, 2)) as amount_usd,
    cast(round(sum(amount_usd * stage_probability), 2) as decimal(18, 2)) as weighted_amount_usd,
    cast({{ dbt.datediff('snapshot_month', 'expected_close_month', 'month') }} as integer) as months_to_expected_close
from {{ ref('int_deal_pipeline_snapshots') }}
group by snapshot_month, rep_id, territory, expected_close_month, forecast_category, deal_stage
