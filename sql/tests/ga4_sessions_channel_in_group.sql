/*
description: >
  Every session's channel is one the selected channel group
  (SAM_CHANNEL_GROUP, seeds/channel_groups.csv) can assign, or one of GA4's
  default channels, which a session takes from GA4's own export where GA4
  and the rules agree on its source. Lists the sessions that are neither:
  a channel the rules cannot produce means the model and the seed
  disagree.
*/
select session_key, channel
from {{ ref "stg_ga4__sessions" }}
where channel not in (
  {{ macro "channel_group_channels" (var_value "channel_group" "default") }},
  {{ macro "channel_group_channels" "default" }}
)
