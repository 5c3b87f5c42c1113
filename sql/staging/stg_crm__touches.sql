/*
description: >
  One row per non-web touch a CRM or the offline touches file holds
  (Salesforce CampaignMember, HubSpot meetings and calls, offline_touches
  rows): the latest loaded version of each (source_system, touch_id).
  lead_id is the lead the touch names (a Salesforce Contact converted from a
  Lead stands for that Lead, as in stg_crm__leads; a HubSpot contact merged
  into another stands for that one), email_sha256 the hashed
  email a file row may name instead. touched_at is NULL for a campaign member
  that never responded (no touch). The channel comes from the touch_channel
  macro, the one place the mapping lives.
  version_conflict is true when another version of the record has the same
  modified_at and loaded_at and differs in what this model reads (two rows
  with the same updated_at in one export file): the one kept is the
  loader's smallest version_hash, the same on every engine and in every
  run, but nothing says it is current.
  Such a touch quarantines the leads it reaches within the attribution
  window (int_lead_offline_touches, int_quarantined_leads): its channel or
  time may decide the channel a lead's value is predicted by. The warn test
  crm_conflicting_versions lists it.
materialized: table
cluster_by: [lead_id]
tests:
  not_null: [touch_id, source_system, touch_type, channel, is_deleted, version_conflict]
  unique_combination: [[source_system, touch_id]]
  accepted_values: {touch_type: [event, webinar, call, meeting, direct_mail, campaign_member]}
*/
with latest as (
  {{ macro "crm_latest_version" (source "crm" "touches") "source_system, touch_id" "touch_id is not null"
    "lead_id, email_sha256, touch_type, touched_at, channel, source, medium, campaign, status" }}
),

leads as (
  {{ macro "crm_latest_version" (source "crm" "leads") "lead_id" "lead_id is not null" "record_type, converted_contact_id" }}
),

-- a Contact converted from a Lead is that Lead (stg_crm__leads leaves it out)
converted_contacts as (
  select converted_contact_id as contact_id, min(lead_id) as lead_id
  from leads
  where record_type = 'lead' and converted_contact_id is not null
  group by converted_contact_id
),

-- a lead merged into another (HubSpot) is that other lead now
lead_merges as (
  select source_system, merged_id, into_id from {{ ref "stg_crm__merges" }} where object_type = 'lead'
),

cleaned as (
  select
    t.touch_id,
    t.source_system,
    coalesce(lm.into_id, c.lead_id, nullif(trim(t.lead_id), '')) as lead_id,
    lower(nullif(trim(t.email_sha256), '')) as email_sha256,
    t.touch_type,
    t.touched_at,
    nullif(trim(t.channel), '') as named_channel,
    lower(nullif(trim(t.source), '')) as source,
    lower(nullif(trim(t.medium), '')) as medium,
    nullif(trim(t.campaign), '') as campaign,
    t.status,
    {{ macro "crm_version_columns" "t" }}
  from latest as t
  left join converted_contacts as c on c.contact_id = trim(t.lead_id)
  left join lead_merges as lm on lm.source_system = t.source_system and lm.merged_id = trim(t.lead_id)
)

select
  t.touch_id,
  t.source_system,
  t.lead_id,
  t.email_sha256,
  t.touch_type,
  t.touched_at,
  {{ macro "touch_channel" "t.named_channel" "(t.source is not null or t.medium is not null)"
    "coalesce(t.source, '(not set)')" "coalesce(t.medium, '(not set)')" "lower(coalesce(t.campaign, ''))"
    "sc.source_category" "t.touch_type" }} as channel,
  t.source,
  t.medium,
  t.campaign,
  t.status,
  t.is_deleted,
  t.modified_at,
  t.loaded_at,
  t.version_conflict
from cleaned as t
left join {{ ref "seed_ga4_source_categories" }} as sc on sc.source = t.source
