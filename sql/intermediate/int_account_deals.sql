/*
description: >
  Every live deal with an account: the account the CRM links the deal to,
  else its lead's (int_lead_accounts); with its won amount in the reporting
  currency, converted at the rate of its close day as fct_lead_revenue
  converts it (amount_reporting is NULL for a deal not won or without a
  rate). A view: two marts read it, each once per build.
materialized: view
tests:
  not_null: [deal_id, account_id, is_won]
  unique: [deal_id]
*/
with deals as (
  select *
  from {{ ref "stg_crm__deals" }}
  where not is_deleted
),

deal_links as (
  select record_id, account_id
  from {{ ref "stg_crm__account_links" }}
  where object_type = 'deal'
),

linked as (
  select
    d.deal_id,
    d.lead_id,
    coalesce(dl.account_id, la.account_id) as account_id,
    d.created_at,
    d.closed_at,
    d.is_won,
    d.amount,
    upper(d.currency) as currency,
    cast(coalesce(d.closed_at, d.created_at) as date) as closed_date
  from deals as d
  left join deal_links as dl on dl.record_id = d.deal_id
  left join {{ ref "int_lead_accounts" }} as la on la.lead_id = d.lead_id
)

select
  l.deal_id,
  l.lead_id,
  l.account_id,
  coalesce(l.created_at, l.closed_at) as created_at,
  l.closed_at,
  l.is_won,
  case
    when not l.is_won then cast(null as numeric)
    when l.currency = {{ var "reporting_currency" }} then l.amount
    else {{ safe_cast "l.amount * fx.rate" "NUMERIC" }}
  end as amount_reporting
from linked as l
left join {{ ref "stg_fx__rates" }} as fx
  on {{ macro "fx_rate_on" "fx" "l.currency" "l.closed_date" }}
where l.account_id is not null
