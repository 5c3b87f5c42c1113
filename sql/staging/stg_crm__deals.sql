/*
description: >
  One row per CRM deal (HubSpot deal, Salesforce Opportunity, export-file
  deal): the latest loaded version of each id. lead_id is the deal's lead:
  the one the CRM names on the deal (export files), else the lead converted
  into this opportunity, else the primary associated contact (through the
  Lead converted into it, for Salesforce), or the lead that one was merged
  into since (HubSpot moves a merged contact's deals without editing them).
  Associations come from
  raw_crm__deal_contacts: for snapshot sources (HubSpot, files) the set
  stored with the deal's latest version, in the batch that loaded it (HubSpot
  changes associations without a new version, so SAM loads the same version
  again with its new set); for Salesforce the latest version of each
  OpportunityContactRole that is not deleted.
  version_conflict is true when another version of the record has the same
  modified_at and loaded_at and differs in what this model reads (two rows
  with the same updated_at in one export file): the one kept is the
  loader's smallest version_hash, the same on every engine and in every
  run, but nothing says it is current.
  Such a deal quarantines its lead (int_quarantined_leads).
materialized: table
cluster_by: [deal_id]
tests:
  not_null: [deal_id, source_system, is_won, is_lost, is_deleted, version_conflict]
  unique: [deal_id]
*/
with deals as (
  {{ macro "crm_latest_version" (source "crm" "deals") "deal_id" "deal_id is not null"
    "source_system, lead_id, created_at, updated_at, closed_at, stage, pipeline, amount, currency, is_won, is_lost" }}
),

-- Salesforce OpportunityContactRoles, versioned one by one
contact_roles as (
  {{ macro "crm_latest_version" (source "crm" "deal_contacts") "association_id" "not coalesce(is_snapshot, false)"
    "deal_id, lead_id, is_primary" }}
),

associations as (
  select deal_id, lead_id, coalesce(is_primary, false) as is_primary
  from contact_roles
  where not coalesce(is_deleted, false)
  union all
  select a.deal_id, a.lead_id, coalesce(a.is_primary, false) as is_primary
  from {{ source "crm" "deal_contacts" }} as a
  join deals as d
    on d.deal_id = a.deal_id and a.modified_at = d.modified_at and a.loaded_at = d.loaded_at
  where coalesce(a.is_snapshot, false) and not coalesce(a.is_deleted, false)
),

primary_contact as (
  select deal_id, lead_id as contact_id
  from (
    select
      deal_id,
      lead_id,
      row_number() over (partition by deal_id order by is_primary desc, lead_id) as pick
    from associations
    where lead_id is not null
  ) as ranked
  where pick = 1
),

leads as (
  select lead_id, converted_contact_id, converted_deal_id
  from {{ ref "stg_crm__leads" }}
),

lead_of_deal as (
  select converted_deal_id as deal_id, min(lead_id) as lead_id
  from leads
  where converted_deal_id is not null
  group by converted_deal_id
),

lead_of_contact as (
  select converted_contact_id as contact_id, min(lead_id) as lead_id
  from leads
  where converted_contact_id is not null
  group by converted_contact_id
),

-- a lead merged into another (HubSpot) is that other lead now
lead_merges as (
  select source_system, merged_id, into_id from {{ ref "stg_crm__merges" }} where object_type = 'lead'
)

select
  d.deal_id,
  coalesce(lm.into_id, d.lead_id, ld.lead_id, lc.lead_id, pc.contact_id) as lead_id,
  d.source_system,
  d.created_at,
  d.updated_at,
  d.closed_at,
  d.stage,
  d.pipeline,
  coalesce(d.is_won, false) as is_won,
  coalesce(d.is_lost, false) as is_lost,
  d.amount,
  d.currency,
  {{ macro "crm_version_columns" "d" }}
from deals as d
left join lead_of_deal as ld on ld.deal_id = d.deal_id
left join primary_contact as pc on pc.deal_id = d.deal_id
left join lead_of_contact as lc on lc.contact_id = pc.contact_id
left join lead_merges as lm
  on lm.source_system = d.source_system and lm.merged_id = coalesce(d.lead_id, ld.lead_id, lc.lead_id, pc.contact_id)
