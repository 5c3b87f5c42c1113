/*
description: >
  One row per (live lead, stage it reached among lead, mql and sql): the
  revenue the lead is expected to bring, in the reporting currency, so the
  stage events sent to ad platforms carry a value while their attribution
  windows are still open. predicted_value = p_won × avg_won_revenue of the
  lead's cohort at that stage: its campaign when that cohort is thick
  enough, else its channel, else the stage overall, each estimated from
  mature history and shrunk toward the level above (int_stage_value_cohorts).
  Spam leads are left out of the estimates and predicted 0 (grain spam); a
  stage without any mature history has grain none and no prediction. Columns
  and rules are documented in README.md.
  Rebuilt in full (a table): lead-grain cohorts restated by any CRM change;
  it reads no GA4 table.
materialized: table
cluster_by: [stage, channel]
tests:
  not_null: [lead_id, stage, stage_at, channel, cohort_grain, cohort_leads, cohort_won, currency]
  unique_combination: [[lead_id, stage]]
  accepted_values:
    stage: [lead, mql, sql]
    cohort_grain: [campaign, channel, overall, spam, none]
*/
with outcomes as (
  select * from {{ ref "int_lead_stage_outcomes" }}
),

cohorts as (
  select * from {{ ref "int_stage_value_cohorts" }}
  where fit = 'all'
),

matched as (
  select
    o.lead_id,
    o.stage,
    o.stage_at,
    o.channel,
    o.campaign,
    case
      when o.is_spam then 'spam'
      when cp.fit is not null then 'campaign'
      when ch.fit is not null then 'channel'
      when ov.fit is not null then 'overall'
      else 'none'
    end as cohort_grain,
    cp.cohort_leads as cp_leads, cp.cohort_won as cp_won, cp.p_won as cp_p, cp.avg_won_revenue as cp_avg,
    ch.cohort_leads as ch_leads, ch.cohort_won as ch_won, ch.p_won as ch_p, ch.avg_won_revenue as ch_avg,
    ov.cohort_leads as ov_leads, ov.cohort_won as ov_won, ov.p_won as ov_p, ov.avg_won_revenue as ov_avg
  from outcomes as o
  left join cohorts as cp
    on cp.cohort_grain = 'campaign' and cp.stage = o.stage and cp.channel = o.channel and cp.campaign = o.campaign
  left join cohorts as ch
    on ch.cohort_grain = 'channel' and ch.stage = o.stage and ch.channel = o.channel
  left join cohorts as ov
    on ov.cohort_grain = 'overall' and ov.stage = o.stage
),

chosen as (
  select
    lead_id,
    stage,
    stage_at,
    channel,
    campaign,
    cohort_grain,
    case cohort_grain when 'campaign' then cp_leads when 'channel' then ch_leads when 'overall' then ov_leads else 0 end as cohort_leads,
    case cohort_grain when 'campaign' then cp_won when 'channel' then ch_won when 'overall' then ov_won else 0 end as cohort_won,
    case cohort_grain when 'campaign' then cp_p when 'channel' then ch_p when 'overall' then ov_p when 'spam' then 0 end as p_won,
    {{ safe_cast "case cohort_grain when 'campaign' then cp_avg when 'channel' then ch_avg when 'overall' then ov_avg end" "NUMERIC" }} as avg_won_revenue
  from matched
)

select
  *,
  -- nobody won yet: the value is 0 even without an average to multiply
  case when p_won = 0 then {{ safe_cast "0" "NUMERIC" }} else {{ safe_cast "p_won * avg_won_revenue" "NUMERIC" }} end as predicted_value,
  {{ var "reporting_currency" }} as currency
from chosen
