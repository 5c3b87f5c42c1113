/*
description: >
  One row per CRM lead (HubSpot contact, Salesforce Lead or unconverted
  Contact, export-file lead): the latest loaded version of each id, whatever
  the CRM. Emails are trimmed, lower-cased and SHA-256 hashed (and hashed
  again after Google's normalisation, for Google Ads); no email,
  phone or name leaves raw_crm__leads. The hidden-field GA client id is
  normalised to GA's bare x.y form (a cookie value GA1.1.x.y loses its
  prefix; anything else that is not x.y becomes NULL, and
  ga_client_id_problem says why, so such a lead shows as unattributed with
  its reason). A Salesforce Contact
  converted from a Lead is the same person as that Lead and is left out.
  version_conflict is true when another version of the record has the same
  modified_at and loaded_at and differs in what this model reads (two rows
  with the same updated_at in one export file): the one kept is the
  loader's smallest version_hash, the same on every engine and in every
  run, but nothing says it is current.
  Versions that differ only in the phone, name or company, which no model
  reads, are no conflict: the lead stages the same whichever is kept.
  Such a lead is quarantined (int_quarantined_leads).
materialized: table
cluster_by: [lead_id]
tests:
  not_null: [lead_id, source_system, is_deleted, version_conflict]
  unique: [lead_id]
  accepted_values: {lifecycle_stage: [lead, mql, sql, opportunity, customer, lost, disqualified]}
*/
with latest as (
  {{ macro "crm_latest_version" (source "crm" "leads") "lead_id" "lead_id is not null"
    "source_system, record_type, created_at, updated_at, email, ga_client_id, gclid, user_id, lifecycle_stage, mql_at, sql_at, opportunity_at, won_at, lost_at, disqualified_at, disqualification_reason, analytics_source, analytics_source_data_1, analytics_source_data_2, converted_contact_id, converted_deal_id, meta_lead_id, li_fat_id, ad_consent" }}
),

converted_contacts as (
  select distinct converted_contact_id as contact_id
  from latest
  where record_type = 'lead' and converted_contact_id is not null
)

select
  l.lead_id,
  l.source_system,
  coalesce(l.record_type, 'lead') as record_type,
  l.created_at,
  l.updated_at,
  case
    when nullif(trim(l.email), '') is not null then {{ sha256_hex "lower(trim(l.email))" }}
  end as email_sha256,
  {{ sha256_hex (macro "google_email" "l.email") }} as email_sha256_google,
  -- the company-domain fallback of int_lead_accounts; a domain is not personal data
  regexp_extract(lower(trim(l.email)), '@([^@ ]+)$') as email_domain,
  regexp_extract(trim(l.ga_client_id), '^(?:GA[0-9]+[.][0-9]+[.])?([0-9]+[.][0-9]+)$') as ga_client_id,
  -- the same pattern as record.ClientIDProblem
  case
    when nullif(trim(l.ga_client_id), '') is not null
      and regexp_extract(trim(l.ga_client_id), '^(?:GA[0-9]+[.][0-9]+[.])?([0-9]+[.][0-9]+)$') is null
      then 'ga_client_id is not x.y or GA1.n.x.y'
  end as ga_client_id_problem,
  nullif(trim(l.gclid), '') as gclid,
  nullif(trim(l.user_id), '') as user_id,
  l.lifecycle_stage,
  l.mql_at,
  l.sql_at,
  l.opportunity_at,
  l.won_at,
  l.lost_at,
  l.disqualified_at,
  l.disqualification_reason,
  l.analytics_source,
  l.analytics_source_data_1,
  l.analytics_source_data_2,
  l.converted_contact_id,
  l.converted_deal_id,
  nullif(trim(l.meta_lead_id), '') as meta_lead_id,
  nullif(trim(l.li_fat_id), '') as li_fat_id,
  l.ad_consent,
  {{ macro "crm_version_columns" "l" }}
from latest as l
left join converted_contacts as c
  on l.record_type = 'contact' and c.contact_id = l.lead_id
where c.contact_id is null
