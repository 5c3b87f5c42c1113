/*
description: >
  One row per GA4 session (property, client_key and ga_session_id) with its start, end,
  landing page, engagement and the source/medium/campaign that brought it,
  grouped into the selected channel group (SAM_CHANNEL_GROUP,
  seeds/channel_groups.csv; GA4's default channel group by default). The source is what the session
  collected (see marts/README.md): the first tagged event's
  collected_traffic_source or source/medium/campaign parameters; a gclid
  alone means google/cpc; a Merchant Center srsltid alone google/organic on
  the campaign Shopping Free Listings; a session without any of these is
  classified from its landing referrer (a search engine is organic, another
  site a referral, the site's own host nothing), and otherwise is
  (direct)/(none). GA4's own session attribution
  (session_traffic_source_last_click, last non-direct) stays in the
  export_* columns; where it describes the same source/medium, GA4's
  channel group is the channel (GA4 knows Google Ads campaign types such
  as Performance Max, which it groups as Cross-network), else the rules'
  (rules_channel) are. Cookieless pings have no session and are not here.
materialized: incremental
partition_by: session_date
cluster_by: [client_key]
unique_key: [session_key]
lookback_days: 3
tests:
  not_null: [session_key, client_key, session_start_ts, session_end_ts, session_date, source, medium, channel, is_engaged]
  unique: [session_key]
*/
with events as (
  select *
  from {{ ref "stg_ga4__events" }}
  where session_key is not null
    and {{ incremental_filter "event_date" }}
),

sessions as (
  select
    session_key,
    max(property_id) as property_id,
    max(client_key) as client_key,
    max(property_client_key) as property_client_key,
    max(ga_session_id) as ga_session_id,
    max(ga_session_number) as ga_session_number,
    max(user_id) as user_id,
    min(event_ts) as session_start_ts,
    max(event_ts) as session_end_ts,
    min(event_date) as first_event_date,
    -- the first event's, the first page view's and the first event's that
    -- carries each kind of source (event order: event_ts, then event_key,
    -- so ties pick the same event on every build)
    {{ first_by "page_location" "true" "event_ts, event_key" }} as first_page_location,
    {{ first_by "page_referrer" "true" "event_ts, event_key" }} as first_page_referrer,
    {{ first_by "page_location" "event_name = 'page_view'" "event_ts, event_key" }} as landing_page_location,
    {{ first_by "page_referrer" "event_name = 'page_view'" "event_ts, event_key" }} as landing_page_referrer,
    {{ first_by "last_click_source" "last_click_source is not null" "event_ts, event_key" }} as export_source,
    {{ first_by "last_click_medium" "last_click_source is not null" "event_ts, event_key" }} as export_medium,
    {{ first_by "last_click_campaign" "last_click_source is not null" "event_ts, event_key" }} as export_campaign,
    {{ first_by "last_click_source_platform" "last_click_source is not null" "event_ts, event_key" }} as export_source_platform,
    {{ first_by "last_click_channel_group" "last_click_source is not null" "event_ts, event_key" }} as last_click_channel_group,
    {{ first_by "source" "source is not null or medium is not null or campaign is not null" "event_ts, event_key" }} as tagged_source,
    {{ first_by "medium" "source is not null or medium is not null or campaign is not null" "event_ts, event_key" }} as tagged_medium,
    {{ first_by "campaign" "source is not null or medium is not null or campaign is not null" "event_ts, event_key" }} as tagged_campaign,
    {{ first_by "source_platform" "source is not null or medium is not null or campaign is not null" "event_ts, event_key" }} as source_platform,
    {{ first_by "gclid" "gclid is not null" "event_ts, event_key" }} as gclid,
    {{ first_by "srsltid" "srsltid is not null or dclid is not null or gbraid is not null or wbraid is not null" "event_ts, event_key" }} as srsltid,
    {{ first_by "dclid" "srsltid is not null or dclid is not null or gbraid is not null or wbraid is not null" "event_ts, event_key" }} as dclid,
    {{ first_by "gbraid" "srsltid is not null or dclid is not null or gbraid is not null or wbraid is not null" "event_ts, event_key" }} as gbraid,
    {{ first_by "wbraid" "srsltid is not null or dclid is not null or gbraid is not null or wbraid is not null" "event_ts, event_key" }} as wbraid,
    max(hostname) as hostname,
    max(case when is_session_engaged then 1 else 0 end) as engaged_flag,
    -- consent for ads: one denial in the session denies it
    case
      when max(case when ads_storage = 'No' then 1 else 0 end) = 1 then 'denied'
      when max(case when ads_storage = 'Yes' then 1 else 0 end) = 1 then 'granted'
    end as ads_consent,
    sum(coalesce(engagement_time_msec, 0)) as engagement_time_msec,
    count(*) as event_count,
    sum(case when event_name = 'page_view' then 1 else 0 end) as page_views,
    sum(case when event_name = 'generate_lead' then 1 else 0 end) as lead_events,
    max(device_category) as device_category,
    max(country) as country
  from events
  group by session_key
),

referrers as (
  select
    s.*,
    lower(regexp_extract(coalesce(s.landing_page_referrer, s.first_page_referrer), '^[a-zA-Z]+://([^/?#:]+)')) as referrer_host
  from sessions as s
),

referrer_sources as (
  select
    r.session_key,
    -- GA4 names a known engine or network by its name (google, not
    -- www.google.com), other referrers by their host
    coalesce(label_cat.source, host_cat.source, regexp_replace(r.referrer_host, '^www[.]', '')) as source,
    case
      when coalesce(host_cat.source_category, label_cat.source_category) = 'SOURCE_CATEGORY_SEARCH' then 'organic'
      else 'referral'
    end as medium
  from referrers as r
  left join {{ ref "seed_ga4_source_categories" }} as host_cat
    on host_cat.source = regexp_replace(r.referrer_host, '^www[.]', '')
  left join {{ ref "seed_ga4_source_categories" }} as label_cat
    on label_cat.source = regexp_extract(r.referrer_host, '([^.]+)[.][^.]+$')
  where r.referrer_host is not null
    and r.referrer_host != coalesce(lower(r.hostname), '')
),

collected as (
  select
    s.*,
    -- precedence: the tagged source, then an auto-tagged Ads click or a
    -- free-listing click (both google), then the referrer, else direct
    coalesce(s.tagged_source, case when s.gclid is not null or s.srsltid is not null then 'google' end, rs.source, '(direct)') as source,
    case
      when s.tagged_source is not null or s.tagged_medium is not null then coalesce(s.tagged_medium, '(not set)')
      when s.gclid is not null then 'cpc'
      -- GA4 reports a Merchant Center free-listing click as google /
      -- organic, campaign Shopping Free Listings, channel Organic Shopping
      -- (Analytics Help 11479699, Merchant Center integration)
      when s.srsltid is not null then 'organic'
      when rs.source is not null then rs.medium
      else '(none)'
    end as medium,
    case
      when s.tagged_source is not null or s.tagged_medium is not null or s.tagged_campaign is not null then s.tagged_campaign
      when s.gclid is not null then '(not set)'
      when s.srsltid is not null then 'Shopping Free Listings'
      when rs.source is not null then concat('(', rs.medium, ')')
      else '(direct)'
    end as collected_campaign
  from referrers as s
  left join referrer_sources as rs on rs.session_key = s.session_key
),

sourced as (
  select
    c.*,
    -- GA4's last click is the collected one (not a non-direct source
    -- carried over a direct visit): its campaign names an auto-tagged
    -- click, and its channel group knows the Ads campaign type
    coalesce(c.export_source = lower(c.source) and c.export_medium = lower(c.medium), false) as is_export_same_click
  from collected as c
),

campaigned as (
  select
    s.*,
    case
      when s.is_export_same_click and coalesce(s.collected_campaign, '(not set)') = '(not set)' and s.export_campaign is not null then s.export_campaign
      else s.collected_campaign
    end as campaign
  from sourced as s
),

categorised as (
  select
    s.*,
    lower(s.source) as src,
    lower(s.medium) as med,
    lower(coalesce(s.campaign, '')) as camp,
    c.source_category as cat
  from campaigned as s
  left join {{ ref "seed_ga4_source_categories" }} as c on c.source = lower(s.source)
),

grouped as (
  select
    *,
{{- if ne (var_value "channel_group" "default") "default" }}
    -- GA4's default group, to tell where the selected group reclassifies
    {{ macro "channel_group_rules" "default" "src" "med" "camp" "cat" }} as default_channel,
{{- end }}
    -- channel rules: begin (the selected channel group, first match wins)
    {{ macro "channel_group" "src" "med" "camp" "cat" }} as channel
    -- channel rules: end
  from categorised
)

select
  session_key,
  property_id,
  client_key,
  property_client_key,
  user_id,
  ga_session_id,
  ga_session_number,
  session_start_ts,
  session_end_ts,
  cast(session_start_ts as date) as session_date,
  coalesce(landing_page_location, first_page_location) as landing_page,
  engaged_flag = 1 as is_engaged,
  engagement_time_msec,
  event_count,
  page_views,
  lead_events,
  source,
  medium,
  campaign,
  gclid,
  srsltid,
  dclid,
  gbraid,
  wbraid,
  source_platform,
  case
{{- if ne (var_value "channel_group" "default") "default" }}
    -- a custom group keeps GA4's channel where it agrees with GA4's default
    -- rules, and wins where it reclassifies the session
    when channel != default_channel then channel
{{- end }}
    when is_export_same_click and last_click_channel_group is not null then last_click_channel_group
    else channel
  end as channel,
  channel as rules_channel,
  export_source,
  export_medium,
  export_campaign,
  export_source_platform,
  last_click_channel_group as export_channel_group,
  ads_consent,
  device_category,
  country
from grouped
{{- if is_incremental }}
-- A session that began before the rebuilt days and ran past midnight keeps
-- the row built with its start; rebuilding it from a partial set of its
-- events would duplicate it in a newer partition.
where not (
  ga_session_id >= unix_seconds(cast(first_event_date as timestamp)) - 86400
  and ga_session_id < unix_seconds(cast(first_event_date as timestamp))
)
{{- end }}
