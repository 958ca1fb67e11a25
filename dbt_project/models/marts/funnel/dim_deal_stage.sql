select
    deal_stage_key,
    pipeline_id,
    pipeline_label,
    stage_id,
    stage_label,
    stage_order,
    is_closed,
    is_won_stage,
    is_lost_stage,
    win_probability,
    next_stage_id,
    is_archived
from {{ ref('int_deal_stages_ordered') }}
