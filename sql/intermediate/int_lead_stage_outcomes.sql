/*
description: >
  One row per (live lead, funnel stage it reached among lead, mql and sql):
  when it got there, the channel and campaign its value is predicted by, and
  what is known of its outcome. A stage is mature (usable to estimate won
  rates) when the lead's outcome is known (won, lost or disqualified) or the
  lead reached the stage at least prediction_maturity_days before the newest
  CRM timestamp, so young open leads do not read as losses. The training base
  of int_stage_value_cohorts and the held-out leads of value_calibration;
  rules in ../marts/README.md (lead_value_predictions).
materialized: table
cluster_by: [stage, channel]
tests:
  not_null: [lead_id, stage, stage_at, lead_month, channel, is_spam, is_closed, is_won, is_mature]
  unique_combination: [[lead_id, stage]]
  accepted_values: {stage: [lead, mql, sql]}
*/
with leads as (
  select
    {{ macro "lead_stage_times" }},
    lost_at,
    disqualified_at,
    revenue_reporting,
    is_spam,
    lead_form_channel,
    lead_form_campaign
  from {{ ref "fct_lead_revenue" }}
),

-- Ages are measured against the newest CRM timestamp rather than the clock,
-- so a warehouse that stopped loading does not age its open leads into losses.
as_of as (
  select max(ts) as as_of
  from (
    select created_at as ts from leads
    union all select mql_at from leads
    union all select sql_reached_at from leads
    union all select won_at from leads
    union all select lost_at from leads
    union all select disqualified_at from leads
  ) as t
),

last_non_direct as (
  select lead_id, channel, campaign
  from {{ ref "attribution_touchpoints" }}
  where model = 'last_non_direct' and stage = 'lead' and credit = 1
),

stages as (
  select 'lead' as stage union all select 'mql' union all select 'sql'
),

lead_stages as (
  select
    l.*,
    st.stage,
    {{ macro "lead_stage_at" "l" "st.stage" }} as stage_at,
    -- a Direct form session does not say which ad brought the lead
    coalesce(l.lead_form_channel, 'Direct') != 'Direct' as form_decides
  from leads as l
  cross join stages as st
)

select
  s.lead_id,
  s.stage,
  s.stage_at,
  {{ date_trunc "cast(s.created_at as date)" "MONTH" }} as lead_month,
  case when s.form_decides then s.lead_form_channel else coalesce(n.channel, 'Unattributed') end as channel,
  case when s.form_decides then s.lead_form_campaign else n.campaign end as campaign,
  s.is_spam,
  s.won_at is not null or s.lost_at is not null or s.disqualified_at is not null as is_closed,
  s.won_at is not null as is_won,
  case when s.won_at is not null then s.revenue_reporting end as won_revenue,
  s.won_at is not null or s.lost_at is not null or s.disqualified_at is not null
    or {{ days_between "a.as_of" "s.stage_at" }} >= {{ var "prediction_maturity_days" }} as is_mature
from lead_stages as s
cross join as_of as a
left join last_non_direct as n on n.lead_id = s.lead_id
where s.stage_at is not null
