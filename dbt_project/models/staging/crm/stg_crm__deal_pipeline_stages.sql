-- One row per stage of a deal pipeline (raw_crm.deal_pipelines__stages, 1:1), with its pipeline.
select
    s.id as stage_id,
    p.id as pipeline_id,
    p.label as pipeline_label,
    s.label as stage_label,
    cast(s.display_order as integer) as display_order,
    cast(s.metadata__is_closed as boolean) as is_closed,
    cast(s.metadata__probability as decimal(5, 4)) as win_probability,
    coalesce(s.archived, false) as is_archived,
    coalesce(p.archived, false) as is_pipeline_archived,
    cast(s.created_at as timestamp with time zone) as created_at,
    cast(s.updated_at as timestamp with time zone) as updated_at
from {{ source('raw_crm', 'deal_pipelines__stages') }} as s
inner join {{ source('raw_crm', 'deal_pipelines') }} as p on p._dlt_id = s._dlt_parent_id
