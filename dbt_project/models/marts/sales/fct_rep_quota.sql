-- Monthly quota per rep (int_rep_quota).
select
    rep_id,
    month_start,
    quota_usd,
    goal_targets
from {{ ref('int_rep_quota') }}
