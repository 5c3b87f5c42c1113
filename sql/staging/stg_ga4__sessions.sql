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
  session_date is the property's date of the session's first event (the
  export's event_date, in the property's time zone), not the UTC date of
  session_start_ts: partitions and the incremental window then agree for a
  property in any zone.
materialized: incremental
partition_by: session_date
cluster_by: [client_key]
unique_key: [session_key]
lookback_days: 3
# A full build on DuckDB goes a month at a time: the first rows below stay in
# memory (30 days of 10M events a year need about 300 MB, the year at once
# about 1 GB).
full_build_window_days: 30
tests:
  not_null: [session_key, client_key, session_start_ts, session_end_ts, session_date, source, medium, channel, is_engaged]
  unique: [session_key]
*/
{{/* event order: event_ts, then event_key, so ties pick the same event
on every build; as the engine sorts it most cheaply */}}
{{ $order := time_hex_order "event_ts" "event_key" }}
with session_rows as (
  select
    session_key,
    max(ga_session_id) as ga_session_id,
    max(ga_session_number) as ga_session_number,
    max(user_id) as user_id,
    min(event_ts) as session_start_ts,
    max(event_ts) as session_end_ts,
    min(event_date) as first_event_date,
    -- the first event's, the first page view's and the first event's that
    -- carries each kind of source: one record per kind. DuckDB cannot spill
    -- these states, so they are kept small: the property and client come
    -- from the first event (they are part of session_key, the same on every
    -- event) and the order key is fixed-size (time_hex_order). At 10M
    -- events one aggregate per column ran out of 1.5 GiB.
    {{ first_row_by "true" $order "page_location" "page_referrer" "property_id" "client_key" "property_client_key" }} as first_event,
    {{ first_row_by "event_name = 'page_view'" $order "page_location" "page_referrer" }} as first_page_view,
    {{ first_row_by "last_click_source is not null" $order "last_click_source" "last_click_medium" "last_click_campaign" "last_click_source_platform" "last_click_channel_group" }} as first_last_click,
    {{ first_row_by "source is not null or medium is not null or campaign is not null" $order "source" "medium" "campaign" "source_platform" }} as first_tagged,
    {{ first_row_by "gclid is not null" $order "gclid" }} as first_gclid,
    {{ first_row_by "srsltid is not null or dclid is not null or gbraid is not null or wbraid is not null" $order "srsltid" "dclid" "gbraid" "wbraid" }} as first_click_id,
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
  from {{ ref "stg_ga4__events" }}
  where session_key is not null
    -- a day before the window: a session that ran past midnight into it is
    -- seen whole, and left out below
    and {{ incremental_filter "event_date" -1 }}
  group by session_key
),

sessions as (
  select
    s.session_key,
    s.first_event.property_id as property_id,
    s.first_event.client_key as client_key,
    s.first_event.property_client_key as property_client_key,
    s.ga_session_id,
    s.ga_session_number,
    s.user_id,
    s.session_start_ts,
    s.session_end_ts,
    s.first_event_date,
    s.first_event.page_location as first_page_location,
    s.first_event.page_referrer as first_page_referrer,
    s.first_page_view.page_location as landing_page_location,
    s.first_page_view.page_referrer as landing_page_referrer,
    s.first_last_click.last_click_source as export_source,
    s.first_last_click.last_click_medium as export_medium,
    s.first_last_click.last_click_campaign as export_campaign,
    s.first_last_click.last_click_source_platform as export_source_platform,
    s.first_last_click.last_click_channel_group as last_click_channel_group,
    s.first_tagged.source as tagged_source,
    s.first_tagged.medium as tagged_medium,
    s.first_tagged.campaign as tagged_campaign,
    s.first_tagged.source_platform as source_platform,
    s.first_gclid.gclid as gclid,
    s.first_click_id.srsltid as srsltid,
    s.first_click_id.dclid as dclid,
    s.first_click_id.gbraid as gbraid,
    s.first_click_id.wbraid as wbraid,
    s.hostname,
    s.engaged_flag,
    s.ads_consent,
    s.engagement_time_msec,
    s.event_count,
    s.page_views,
    s.lead_events,
    s.device_category,
    s.country
  from session_rows as s
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
  -- the property's date, as the export's event_date: the partition and the
  -- incremental window then agree in every time zone
  first_event_date as session_date,
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
-- A session that began the day before the rebuilt days and ran past
-- midnight keeps the row built with its first day, in that day's partition.
where {{ incremental_filter "first_event_date" }}
{{- end }}
