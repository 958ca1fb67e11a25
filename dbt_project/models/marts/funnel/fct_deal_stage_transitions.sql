select
    stage_visit_key,
    deal_id,
    pipeline_id,
    deal_stage_key,
    stage_id,
    stage_order,
    visit_number,
    entered_at,
    exited_at,
    days_in_stage,
    next_stage_id,
    is_current,
    advanced,
    is_archived_deal
from {{ ref('int_deal_stage_visits') }}
