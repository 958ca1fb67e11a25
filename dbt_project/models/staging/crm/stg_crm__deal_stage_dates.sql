-- One row per deal × stage of its pipeline it entered (raw_crm.deals__stage_dates, 1:1): HubSpot's calculated
-- hs_v2_date_entered_<stage id> / hs_v2_date_exited_<stage id>, the LAST entry into (exit from) the stage, read
-- for every stage of every pipeline the pipelines API lists. exited_at is null while the deal is in the stage
-- (and for a stage it was never moved out of). Every visit is in stg_crm__deal_stage_history.
select
    d.id || ':' || s.stage_id as deal_stage_date_id,
    d.id as deal_id,
    d.properties__pipeline as pipeline_id,
    s.stage_id,
    cast(s.entered_at as timestamp with time zone) as entered_at,
    cast(s.exited_at as timestamp with time zone) as exited_at,
    s._dlt_parent_id as deal_dlt_id
from {{ source('raw_crm', 'deals__stage_dates') }} as s
inner join {{ source('raw_crm', 'deals') }} as d on d._dlt_id = s._dlt_parent_id
where {{ crm_not_merged('d.id', 'deal_merges') }}  -- a deal merged into another is left out with its rows
