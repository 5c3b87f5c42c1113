/*
description: >
  One row per CRM account (HubSpot company, Salesforce Account, export-file
  account): the latest loaded version of each id. domain is the company's
  web domain lower-cased, without scheme, www., port or path, so it
  compares with an email's domain.
materialized: table
cluster_by: [account_id]
tests:
  not_null: [account_id, source_system, is_deleted]
  unique: [account_id]
*/
with latest as (
  {{ macro "crm_latest_version" (source "crm" "accounts") "account_id" "account_id is not null" }}
)

select
  account_id,
  source_system,
  nullif(trim(name), '') as account_name,
  regexp_extract(lower(trim(domain)), '^(?:[a-z]+://)?(?:www[.])?([^/:?# ]+)') as domain,
  nullif(trim(industry), '') as industry,
  created_at,
  updated_at,
  coalesce(is_deleted, false) as is_deleted,
  modified_at,
  loaded_at
from latest
