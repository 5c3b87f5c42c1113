/*
description: >
  One row per lead or deal the CRM puts in an account: object_type (lead or
  deal), record_id and account_id. Links come from raw_crm__account_links:
  for snapshot sources (HubSpot company associations) the set stored with
  the account's latest version, in the batch that loaded it (HubSpot changes
  associations without a new version, so SAM loads the same version again
  with its new set), for field links (Salesforce AccountId, the
  export files' account_id column) the latest version of each record's
  link, which may say "no account". A record linked to several accounts
  keeps its field link, else the smallest account id. Links to deleted
  accounts are dropped. A lead, deal or account merged into another
  (HubSpot) stands for that one.
materialized: table
cluster_by: [record_id]
tests:
  not_null: [object_type, record_id, account_id]
  unique_combination: [[object_type, record_id]]
  accepted_values: {object_type: [lead, deal]}
*/
with accounts as (
  {{ macro "crm_latest_version" (source "crm" "accounts") "account_id" "account_id is not null" "is_deleted" }}
),

field_links as (
  {{ macro "crm_latest_version" (source "crm" "account_links") "link_id" "not coalesce(is_snapshot, false)"
    "source_system, object_type, record_id, account_id" }}
),

links as (
  select source_system, object_type, record_id, account_id, 0 as preference
  from field_links
  where not coalesce(is_deleted, false) and account_id is not null
  union all
  select l.source_system, l.object_type, l.record_id, l.account_id, 1 as preference
  from {{ source "crm" "account_links" }} as l
  join accounts as a
    on a.account_id = l.account_id and l.modified_at = a.modified_at and l.loaded_at = a.loaded_at
  where coalesce(l.is_snapshot, false) and not coalesce(l.is_deleted, false)
),

-- a lead, deal or account merged into another (HubSpot) is that other one now
lead_merges as (
  select source_system, merged_id, into_id from {{ ref "stg_crm__merges" }} where object_type = 'lead'
),

deal_merges as (
  select source_system, merged_id, into_id from {{ ref "stg_crm__merges" }} where object_type = 'deal'
),

account_merges as (
  select source_system, merged_id, into_id from {{ ref "stg_crm__merges" }} where object_type = 'account'
),

merged as (
  select
    l.object_type,
    coalesce(lm.into_id, dm.into_id, l.record_id) as record_id,
    coalesce(am.into_id, l.account_id) as account_id,
    l.preference
  from links as l
  left join lead_merges as lm
    on l.object_type = 'lead' and lm.source_system = l.source_system and lm.merged_id = l.record_id
  left join deal_merges as dm
    on l.object_type = 'deal' and dm.source_system = l.source_system and dm.merged_id = l.record_id
  left join account_merges as am
    on am.source_system = l.source_system and am.merged_id = l.account_id
),

ranked as (
  select
    l.*,
    row_number() over (partition by l.object_type, l.record_id order by l.preference, l.account_id) as pick
  from merged as l
  join accounts as a on a.account_id = l.account_id
  where not coalesce(a.is_deleted, false) and l.record_id is not null
)

select object_type, record_id, account_id
from ranked
where pick = 1
