/*
description: >
  One row per GA4 event: typed, renamed and deduplicated. GA4 exports
  duplicates (retried hits) and rewrites daily tables for up to 72 hours, so
  rows are keyed by a fingerprint of the fields that identify an event and
  the most recently loaded copy wins. property_id is the GA4 property the
  event was exported from (NULL for a single unnamed export folder).
  client_key is the GA client id (user_pseudo_id), shared across properties
  (cross-domain measurement), so it is what links journeys and leads;
  property_client_key and session_key are scoped to the property (prefixed
  "property_id:" when there is one); consent-denied cookieless pings have none, so they carry
  no client_key and no session_key and can never be joined to a lead.
  source/medium/campaign and the click ids are what the event collected;
  GA4's session-scoped attribution (session_traffic_source_last_click) is
  kept apart in the last_click_* columns. hostname falls back to the host
  of page_location (older exports and the public sample have none).
materialized: incremental
partition_by: event_date
cluster_by: [client_key, event_name]
unique_key: [event_key]
# the most recently loaded copy of each event; the copies of an event share
# its event_date, so dropping rows outside the window first changes nothing
deduplicate_by: loaded_at desc, export_table
# an export table loaded since the last build (late, or replaced) is rebuilt
# however old; the GA4 models built on this one rebuild from the same day.
# A day's events change only when its export table is loaded again (the
# loader's lookback reloads those GA4 may have rewritten), so no lookback of
# the model's own is needed beyond the newest built day: a daily run rebuilt
# three unchanged days more, most of its staging time.
lookback_days: 0
loaded_days: {source: raw_ga4__events, day: export_date, loaded_at: loaded_at}
tests:
  not_null: [event_key, event_date, event_ts, event_name, is_cookieless]
  unique: [event_key]
*/
with exported as (
  select
    export_date,
    export_table,
    loaded_at,
    parse_date('%Y%m%d', event_date) as event_date,
    timestamp_micros(event_timestamp) as event_ts,
    event_timestamp,
    event_name,
    user_pseudo_id,
    user_id,
    event_bundle_sequence_id,
    batch_page_id,
    batch_ordering_id,
    batch_event_index,
    {{ event_param "ga_session_id" "int" }} as ga_session_id,
    {{ event_param "ga_session_number" "int" }} as ga_session_number,
    {{ event_param "page_location" "string" }} as page_location,
    {{ event_param "page_referrer" "string" }} as page_referrer,
    {{ event_param "page_title" "string" }} as page_title,
    -- string or int parameters; "text" would read all four value fields
    coalesce({{ event_param "form_id" "string" }}, cast({{ event_param "form_id" "int" }} as string)) as form_id,
    {{ event_param "engagement_time_msec" "int" }} as engagement_time_msec,
    coalesce({{ event_param "session_engaged" "string" }}, cast({{ event_param "session_engaged" "int" }} as string)) as session_engaged,
    -- app streams mark an engaged session with this parameter instead
    coalesce(cast({{ event_param "engaged_session_event" "int" }} as string), {{ event_param "engaged_session_event" "string" }}) as engaged_session_event,
    {{ event_param "gclid" "string" }} as param_gclid,
    {{ event_param "source" "string" }} as param_source,
    {{ event_param "medium" "string" }} as param_medium,
    {{ event_param "campaign" "string" }} as param_campaign,
    collected_traffic_source.manual_source as cts_source,
    collected_traffic_source.manual_medium as cts_medium,
    collected_traffic_source.manual_campaign_name as cts_campaign,
    collected_traffic_source.manual_term as cts_term,
    collected_traffic_source.manual_content as cts_content,
    collected_traffic_source.gclid as cts_gclid,
    collected_traffic_source.dclid as cts_dclid,
    collected_traffic_source.srsltid as cts_srsltid,
    collected_traffic_source.manual_source_platform as cts_source_platform,
    session_traffic_source_last_click.manual_campaign.source as lc_source,
    session_traffic_source_last_click.manual_campaign.medium as lc_medium,
    session_traffic_source_last_click.manual_campaign.campaign_name as lc_campaign,
    session_traffic_source_last_click.google_ads_campaign.campaign_name as lc_google_ads_campaign,
    session_traffic_source_last_click.cross_channel_campaign.default_channel_group as lc_default_channel_group,
    session_traffic_source_last_click.cross_channel_campaign.source as lc_cross_source,
    session_traffic_source_last_click.cross_channel_campaign.medium as lc_cross_medium,
    session_traffic_source_last_click.cross_channel_campaign.source_platform as lc_source_platform,
    traffic_source.source as first_user_source,
    traffic_source.medium as first_user_medium,
    traffic_source.name as first_user_campaign,
    privacy_info.analytics_storage as analytics_storage,
    privacy_info.ads_storage as ads_storage,
    device.category as device_category,
    device.web_info.hostname as web_hostname,
    event_dimensions.hostname as event_hostname,
    geo.country as country,
    platform,
    stream_id,
    property_id
  from {{ source "ga4" "events" }}
  where {{ incremental_filter "export_date" }}
    and event_timestamp is not null
),

keyed as (
  select
    *,
    -- the fields that identify an event; a retried hit repeats all of them
    {{ fingerprint "coalesce(user_pseudo_id, '') || '|' || coalesce(cast(ga_session_id as string), '') || '|' || event_name || '|' || cast(event_timestamp as string) || '|' || coalesce(cast(event_bundle_sequence_id as string), '') || '|' || coalesce(cast(batch_ordering_id as string), '') || '|' || coalesce(cast(batch_event_index as string), '') || '|' || coalesce(page_location, '') || '|' || coalesce(stream_id, '') || coalesce('|' || property_id, '')" }} as event_key
  from exported
)

select
  event_key,
  event_date,
  event_ts,
  event_name,
  property_id,
  user_pseudo_id as client_key,
  -- the client within its property: two properties' counts of users never
  -- merge, while client_key (the bare client id) links journeys and leads
  -- across them
  case when user_pseudo_id is not null then concat(coalesce(property_id || ':', ''), user_pseudo_id) end as property_client_key,
  user_id,
  ga_session_id,
  ga_session_number,
  -- a session belongs to one property: the same client and session id on
  -- two properties are two sessions
  case
    when user_pseudo_id is not null and ga_session_id is not null
      then concat(coalesce(property_id || ':', ''), user_pseudo_id, '.', cast(ga_session_id as string))
  end as session_key,
  page_location,
  regexp_extract(page_location, '^[a-zA-Z]+://[^/?#]+([^?#]*)') as page_path,
  page_referrer,
  page_title,
  form_id,
  -- the gclid as collected, else as sent in a parameter, else from the URL
  coalesce(cts_gclid, param_gclid, {{ macro "url_query_value" "page_location" "gclid" }}) as gclid,
  coalesce(cts_dclid, {{ macro "url_query_value" "page_location" "dclid" }}) as dclid,
  -- Merchant Center's result id on a free-listing click
  coalesce(cts_srsltid, {{ macro "url_query_value" "page_location" "srsltid" }}) as srsltid,
  -- Google Ads' click ids for iOS app (gbraid) and web-to-app (wbraid)
  -- clicks: collected_traffic_source has no field for them, the URL does
  {{ macro "url_query_value" "page_location" "gbraid" }} as gbraid,
  {{ macro "url_query_value" "page_location" "wbraid" }} as wbraid,
  cts_source_platform as source_platform,
  lower(coalesce(cts_source, param_source)) as source,
  lower(coalesce(cts_medium, param_medium)) as medium,
  coalesce(cts_campaign, param_campaign) as campaign,
  cts_term as term,
  cts_content as content,
  lower(coalesce(lc_source, lc_cross_source)) as last_click_source,
  lower(coalesce(lc_medium, lc_cross_medium)) as last_click_medium,
  -- a Google Ads click names its campaign there; the manual one may say (not set)
  coalesce(lc_google_ads_campaign, lc_campaign) as last_click_campaign,
  lc_default_channel_group as last_click_channel_group,
  lc_source_platform as last_click_source_platform,
  first_user_source,
  first_user_medium,
  first_user_campaign,
  engagement_time_msec,
  coalesce(session_engaged = '1' or engaged_session_event = '1', false) as is_session_engaged,
  user_pseudo_id is null as is_cookieless,
  analytics_storage,
  ads_storage,
  device_category,
  lower(coalesce(web_hostname, event_hostname, regexp_extract(page_location, '^[a-zA-Z]+://([^/?#:]+)'))) as hostname,
  country,
  platform,
  export_date,
  export_table,
  loaded_at
from keyed
where {{ incremental_filter "event_date" }}
