select
    channel,
    channel_name,
    channel_type,
    source_system
from {{ ref('channels') }}
