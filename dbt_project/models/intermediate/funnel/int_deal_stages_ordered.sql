-- One row per pipeline × stage, with the funnel order and the stage a deal advances to from it:
-- the next open stage by display order, or the pipeline's won stage after the last open stage
-- (null for closed stages). Won stage = closed with win probability 1 (HubSpot's Closed Won).
with stages as (
    select
        *,
        is_closed and win_probability >= 1 as is_won_stage
    from {{ ref('stg_crm__deal_pipeline_stages') }}
),

won_stages as (
    select pipeline_id, min(stage_id) as won_stage_id
    from stages
    where is_won_stage
    group by pipeline_id
),

next_open as (
    select
        pipeline_id,
        stage_id,
        lead(stage_id) over (partition by pipeline_id order by display_order, stage_id) as next_open_stage_id
    from stages
    where not is_closed
)

select
    {{ dbt.hash(dbt.concat(["'hubspot|'", "s.pipeline_id", "'|'", "s.stage_id"])) }} as deal_stage_key,
    s.pipeline_id,
    s.pipeline_label,
    s.stage_id,
    s.stage_label,
    s.display_order as stage_order,
    s.is_closed,
    s.is_won_stage,
    s.is_closed and not s.is_won_stage as is_lost_stage,
    s.win_probability,
    case when not s.is_closed then coalesce(n.next_open_stage_id, w.won_stage_id) end as next_stage_id,
    s.is_archived
from stages as s
left join next_open as n on n.pipeline_id = s.pipeline_id and n.stage_id = s.stage_id
left join won_stages as w on w.pipeline_id = s.pipeline_id
