/*
description: >
  A monitored figure, not a gate: per day, how many sessions that carry
  GA4's own session default channel group
  (session_traffic_source_last_click.cross_channel_campaign) got another
  channel from SAM, listed when over 10 % of the day's sessions. Some
  disagreement is expected: SAM's channel follows the collected source, GA4
  credits a direct visit to the last non-direct one. A larger share means
  the rules or the source categories seed have drifted from GA4's; the
  per-session detail is in stg_ga4__sessions (channel, rules_channel,
  export_channel_group).
severity: warn
*/
select
  session_date,
  count(*) as sessions_with_export_group,
  sum(case when channel = export_channel_group then 1 else 0 end) as agreeing,
  sum(case when rules_channel != export_channel_group and export_source = lower(source) and export_medium = lower(medium) then 1 else 0 end) as rules_disagree_same_source
from {{ ref "stg_ga4__sessions" }}
where export_channel_group is not null
group by session_date
having sum(case when channel = export_channel_group then 1 else 0 end) < 0.9 * count(*)
