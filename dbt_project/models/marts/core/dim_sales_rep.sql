-- SCD2 sales rep dimension: one row per rep × validity period of its territory and manager, from the
-- snapshot snap_crm__rep_assignments (history starts at the first load; see its description).
select
    dbt_scd_id as rep_key,
    rep_id,
    rep_name,
    {{ dbt.hash('lower(trim(email))') }} as email_hash,  -- no personal data in clear text in marts
    territory,
    manager_id,
    dbt_valid_from as valid_from,
    dbt_valid_to as valid_to,
    dbt_valid_to is null as is_current
from {{ ref('snap_crm__rep_assignments') }}
