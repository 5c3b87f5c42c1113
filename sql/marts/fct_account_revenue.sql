/*
description: >
  One row per account (a live CRM account, or a company domain that made
  one: int_lead_accounts; a spam or bot lead makes none): its leads and the contacts among them with a
  touchpoint, its first touch (the earliest first touch of its leads),
  its opportunities (live deals) and won deals, its won revenue in the
  reporting currency (the sum of its won deals, int_account_deals) and the
  days from its first lead to its first won deal. An account with no lead
  and no deal has zeros.
  Rebuilt in full (a table): account-grain, restated by any CRM change; it
  reads no GA4 table.
materialized: table
cluster_by: [account_id]
tests:
  not_null: [account_id, account_name, account_source, lead_count, contacts_engaged, opportunities, won_deals, reporting_currency]
  unique: [account_id]
*/
with crm_accounts as (
  select account_id, account_name, domain
  from {{ ref "stg_crm__accounts" }}
  where not is_deleted
),

-- A spam or bot lead never makes an account of its email domain: it
-- would put spam companies among the accounts.
lead_accounts as (
  select la.*
  from {{ ref "int_lead_accounts" }} as la
  join {{ ref "fct_lead_revenue" }} as l on l.lead_id = la.lead_id
  where la.account_source != 'email_domain' or not l.is_spam
),

deals as (
  select * from {{ ref "int_account_deals" }}
),

account_ids as (
  select account_id from crm_accounts
  union distinct
  select account_id from lead_accounts
  union distinct
  select account_id from deals
),

leads as (
  select
    la.account_id,
    l.lead_id,
    l.created_at,
    l.touchpoint_count,
    l.first_touch_at,
    l.first_touch_channel,
    l.first_touch_source,
    l.first_touch_medium,
    l.first_touch_campaign,
    row_number() over (
      partition by la.account_id
      order by l.first_touch_at is null, l.first_touch_at, l.created_at, l.lead_id
    ) as first_rank
  from lead_accounts as la
  join {{ ref "fct_lead_revenue" }} as l on l.lead_id = la.lead_id
),

lead_summary as (
  select
    account_id,
    count(*) as lead_count,
    sum(case when touchpoint_count > 0 then 1 else 0 end) as contacts_engaged,
    min(created_at) as first_lead_at
  from leads
  group by account_id
),

deal_summary as (
  select
    account_id,
    count(*) as opportunities,
    sum(case when is_won then 1 else 0 end) as won_deals,
    sum(amount_reporting) as won_revenue,
    min(created_at) as first_opportunity_at,
    min(case when is_won then coalesce(closed_at, created_at) end) as first_won_at
  from deals
  group by account_id
)

select
  a.account_id,
  coalesce(c.account_name, c.domain, regexp_extract(a.account_id, '^domain:(.*)$'), a.account_id) as account_name,
  coalesce(c.domain, regexp_extract(a.account_id, '^domain:(.*)$')) as domain,
  case when c.account_id is not null then 'crm' else 'email_domain' end as account_source,
  coalesce(ls.lead_count, 0) as lead_count,
  coalesce(ls.contacts_engaged, 0) as contacts_engaged,
  ls.first_lead_at,
  ft.first_touch_at,
  ft.first_touch_channel,
  ft.first_touch_source,
  ft.first_touch_medium,
  ft.first_touch_campaign,
  coalesce(ds.opportunities, 0) as opportunities,
  ds.first_opportunity_at,
  coalesce(ds.won_deals, 0) as won_deals,
  coalesce(ds.won_revenue, 0) as won_revenue,
  {{ var "reporting_currency" }} as reporting_currency,
  ds.first_won_at,
  case
    when ds.first_won_at is not null and ls.first_lead_at is not null
      then {{ days_between "ds.first_won_at" "ls.first_lead_at" }}
  end as days_to_won
from account_ids as a
left join crm_accounts as c on c.account_id = a.account_id
left join lead_summary as ls on ls.account_id = a.account_id
left join leads as ft on ft.account_id = a.account_id and ft.first_rank = 1 and ft.first_touch_at is not null
left join deal_summary as ds on ds.account_id = a.account_id
