-- One row per deal × stage visit (one entry of stg_crm__deal_stage_history), with how the visit ended.
-- A visit lasts until the deal's next entry (exited_at); the latest visit is the current one.
-- days_in_stage is fractional: seconds between entering and exiting / 86400 (null while current).
-- advanced: the next visit is in a stage of higher stage_order that is not a lost stage (a move
-- forward, won included); a loss, a reopen (closed lost -> open stage) or a move back is not.
with history as (
    select * from {{ ref('stg_crm__deal_stage_history') }}
),

deals as (
    select deal_id, pipeline, is_archived from {{ ref('stg_crm__deals') }}
),

stages as (
    select * from {{ ref('int_deal_stages_ordered') }}
),

sequenced as (
    select
        h.stage_entry_id,
        h.deal_id,
        d.pipeline as pipeline_id,
        d.is_archived as is_archived_deal,
        h.deal_stage as stage_id,
        h.entered_at,
        row_number() over (partition by h.deal_id, h.deal_stage order by h.entered_at, h.entry_index) as visit_number,
        lead(h.entered_at) over (partition by h.deal_id order by h.entered_at, h.entry_index) as exited_at,
        lead(h.deal_stage) over (partition by h.deal_id order by h.entered_at, h.entry_index) as next_stage_id
    from history as h
    inner join deals as d on d.deal_id = h.deal_id
)

select
    {{ dbt.hash(dbt.concat(["'hubspot|'", "v.stage_entry_id"])) }} as stage_visit_key,
    v.deal_id,
    v.pipeline_id,
    s.deal_stage_key,
    v.stage_id,
    s.stage_order,
    cast(v.visit_number as integer) as visit_number,
    v.entered_at,
    v.exited_at,
    cast({{ divide_exact(dbt.datediff('v.entered_at', 'v.exited_at', 'second'), '86400', 4) }} as decimal(12, 4))
        as days_in_stage,
    v.next_stage_id,
    v.exited_at is null as is_current,
    case
        when n.is_lost_stage then false
        when n.stage_order > s.stage_order then true
        else false
    end as advanced,
    v.is_archived_deal
from sequenced as v
left join stages as s on s.pipeline_id = v.pipeline_id and s.stage_id = v.stage_id
left join stages as n on n.pipeline_id = v.pipeline_id and n.stage_id = v.next_stage_id
