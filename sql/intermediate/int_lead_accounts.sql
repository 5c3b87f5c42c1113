/*
description: >
  The account of every live lead that has one: the account the CRM links it
  to (for a Salesforce Lead, through the Contact it was converted into);
  else the CRM account whose domain is the lead's email domain; else an
  account made from that domain (account_id domain:<domain>). Free-mail
  domains (seed_free_mail_domains) never make or join an account.
  account_source says which rule applied: crm, crm_domain or email_domain.
materialized: table
cluster_by: [lead_id]
tests:
  not_null: [lead_id, account_id, account_source]
  unique: [lead_id]
  accepted_values: {account_source: [crm, crm_domain, email_domain]}
*/
with leads as (
  select lead_id, converted_contact_id, email_domain
  from {{ ref "stg_crm__leads" }}
  where not is_deleted
),

links as (
  select record_id, account_id
  from {{ ref "stg_crm__account_links" }}
  where object_type = 'lead'
),

domain_accounts as (
  select domain, min(account_id) as account_id
  from {{ ref "stg_crm__accounts" }}
  where not is_deleted and domain is not null
  group by domain
),

free_mail as (
  select distinct lower(trim(domain)) as domain
  from {{ ref "seed_free_mail_domains" }}
),

company_domains as (
  select l.lead_id, l.email_domain
  from leads as l
  left join free_mail as f on f.domain = l.email_domain
  where l.email_domain is not null and f.domain is null
),

resolved as (
  select
    l.lead_id,
    coalesce(own.account_id, conv.account_id) as crm_account_id,
    da.account_id as domain_account_id,
    cd.email_domain as company_domain
  from leads as l
  left join links as own on own.record_id = l.lead_id
  left join links as conv on conv.record_id = l.converted_contact_id
  left join company_domains as cd on cd.lead_id = l.lead_id
  left join domain_accounts as da on da.domain = cd.email_domain
)

select
  lead_id,
  coalesce(crm_account_id, domain_account_id, concat('domain:', company_domain)) as account_id,
  case
    when crm_account_id is not null then 'crm'
    when domain_account_id is not null then 'crm_domain'
    else 'email_domain'
  end as account_source
from resolved
where coalesce(crm_account_id, domain_account_id, company_domain) is not null
