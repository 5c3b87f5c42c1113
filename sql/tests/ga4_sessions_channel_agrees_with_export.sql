/*
description: >
  Where the export carries GA4's own session default channel group
  (session_traffic_source_last_click.cross_channel_campaign), SAM's channel
  grouping, computed from the same session's source/medium/campaign with
  GA4's published rules so that it matches how spend is grouped, must agree
  for at least 90 % of a day's sessions. GA4 knows a few things the rules
  cannot see (Google Ads campaign types such as Performance Max, which it
  reports as Cross-network), hence not 100 %; a larger gap means the rules
  or the source categories seed have drifted from GA4's.
*/
select
  session_date,
  count(*) as sessions_with_export_group,
  sum(case when channel = export_channel_group then 1 else 0 end) as agreeing
from {{ ref "stg_ga4__sessions" }}
where export_channel_group is not null
group by session_date
having sum(case when channel = export_channel_group then 1 else 0 end) < 0.9 * count(*)
