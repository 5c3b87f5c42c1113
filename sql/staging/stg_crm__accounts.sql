/*
description: >
  One row per CRM account (HubSpot company, Salesforce Account, export-file
  account): the latest loaded version of each id. domain is the company's
  web domain lower-cased, without scheme, www., port or path, so it
  compares with an email's domain.
  version_conflict is true when another version of the record has the same
  modified_at and loaded_at and differs in what this model reads (two rows
  with the same updated_at in one export file): the one kept is the
  loader's smallest version_hash, the same on every engine and in every
  run, but nothing says it is current.
  Such an account is kept, not quarantined, and listed by the warn test
  crm_conflicting_versions: its name, domain and industry group revenue in
  the account reports, and nothing sent to an ad platform reads them.
materialized: table
cluster_by: [account_id]
tests:
  not_null: [account_id, source_system, is_deleted, version_conflict]
  unique: [account_id]
*/
with latest as (
  {{ macro "crm_latest_version" (source "crm" "accounts") "account_id" "account_id is not null"
    "source_system, name, domain, industry, created_at, updated_at" }}
)

select
  a.account_id,
  a.source_system,
  nullif(trim(a.name), '') as account_name,
  regexp_extract(lower(trim(a.domain)), '^(?:[a-z]+://)?(?:www[.])?([^/:?# ]+)') as domain,
  nullif(trim(a.industry), '') as industry,
  a.created_at,
  a.updated_at,
  {{ macro "crm_version_columns" "a" }}
from latest as a
