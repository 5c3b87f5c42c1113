/*
description: >
  One row per (lead, touchpoint, model, stage): which share of the lead (stage
  lead), of its SQL (stage sql), of its opportunity (stage opportunity) and of
  its won revenue (stage won) each touchpoint earns under ten
  attribution models. A stage's journey is the lead's touchpoints (pre_lead:
  sessions and non-web touches, touch_type says which) and the sessions its
  clients started and the non-web touches it had after its creation up to
  the time it reached the stage (post_lead). A lead has rows at a stage only once it
  reached it. Credits of one lead sum to 1 per model and stage; a journey
  without web touchpoints has one Unattributed touch with credit 1. Columns
  and the model rules are documented in README.md.
  Rebuilt in full: a CRM change (a stage, a deal, a merge) restates any
  lead's credits whatever day its sessions fell on; sessions are read only
  by a join probing the leads' clients, so its cost follows leads, not the
  export.
materialized: table
cluster_by: [model, stage, channel]
tests:
  not_null: [lead_id, stage, model, position, touch_count, touch_phase, channel, credit, revenue_credit, stage_at]
  unique_combination: [[lead_id, stage, model, position]]
  accepted_values:
    stage: [lead, sql, opportunity, won]
    model: [first_touch, last_touch, last_non_direct, linear, time_decay, position_based, markov, w_shaped, full_path, shapley]
    touch_phase: [pre_lead, post_lead]
*/
with leads as (
  select
    {{ macro "lead_stage_times" }},
    coalesce(revenue_reporting, 0) as revenue_reporting,
    reporting_currency
  from {{ ref "fct_lead_revenue" }}
),

stages as (
  {{ macro "attribution_stages" }}
),

lead_stages as (
  select
    l.*,
    st.stage,
    {{ macro "lead_stage_at" "l" "st.stage" }} as stage_at
  from leads as l
  cross join stages as st
),

lead_clients as (
  {{ macro "lead_client_keys" (ref "int_lead_stages") (ref "int_lead_identity") }}
),

-- every web touch of a lead at any stage: its touchpoints (the lead stage's
-- journey, as int_lead_touchpoints finds them) and the sessions its clients
-- started after its creation
web_touches as (
  select
    lead_id,
    {{ macro "touch_columns" }},
    'pre_lead' as touch_phase
  from {{ ref "int_lead_touchpoints" }}
  union all
  select distinct
    {{ macro "session_touch" "l" "s" }},
    {{ days_between "l.created_at" "s.session_start_ts" }},
    'web_session',
    'post_lead'
  from lead_clients as l
  join {{ ref "stg_ga4__sessions" }} as s on s.client_key = l.client_key
  left join {{ ref "int_lead_touchpoints" }} as t on t.lead_id = l.lead_id and t.session_key = s.session_key
  where s.session_start_ts > l.created_at and t.session_key is null
  union all
  -- non-web touches after the lead's creation (int_lead_offline_touches)
  select
    lead_id,
    touch_key,
    touch_at,
    channel,
    source,
    medium,
    campaign,
    false,
    days_before_lead,
    touch_type,
    'post_lead'
  from {{ ref "int_lead_offline_touches" }}
  where not is_pre_lead
),

-- a stage's journey: the pre-lead touches, and the post-lead ones started
-- by the time the lead reached the stage; positions count within it
journeys as (
  select
    w.*,
    ls.stage as journey_stage,
    ls.created_at,
    ls.opportunity_reached_at,
    ls.won_at,
    ls.stage_at as journey_stage_at,
    row_number() over (partition by w.lead_id, ls.stage order by w.touch_at, w.session_key) as position,
    count(*) over (partition by w.lead_id, ls.stage) as touch_count
  from web_touches as w
  join lead_stages as ls on ls.lead_id = w.lead_id and ls.stage_at is not null
  where w.touch_phase = 'pre_lead' or w.touch_at <= ls.stage_at
),

-- W-shaped and full-path milestones of each journey (README.md): the first
-- touch; the lead-creation touch (the form session, else the last pre-lead
-- touch); the opportunity-creation touch (the last touch by the time of the
-- opportunity, once the journey reaches it); the closed-won touch (the last
-- touch by the won time, once the journey reaches it)
milestones as (
  select
    j.*,
    coalesce(
      max(case when j.is_lead_form_session then j.position end) over (partition by j.lead_id, j.journey_stage),
      max(case when j.touch_phase = 'pre_lead' then j.position end) over (partition by j.lead_id, j.journey_stage)
    ) as lead_creation_position,
    max(case when j.opportunity_reached_at <= j.journey_stage_at and j.touch_at <= j.opportunity_reached_at then j.position end)
      over (partition by j.lead_id, j.journey_stage) as opportunity_creation_position,
    max(case when j.won_at <= j.journey_stage_at and j.touch_at <= j.won_at then j.position end)
      over (partition by j.lead_id, j.journey_stage) as closed_won_position
  from journeys as j
),

-- how many milestones each touch fills (one touch may fill several)
milestone_counts as (
  select
    m.*,
    {{ macro "milestones_filled" "m" "m.lead_creation_position" "m.opportunity_creation_position" "cast(null as int64)" }} as w_milestones,
    {{ macro "milestones_filled" "m" "m.lead_creation_position" "m.opportunity_creation_position" "m.closed_won_position" }} as full_path_milestones
  from milestones as m
),

-- a milestone's share goes to the touch filling it (shares add up when one
-- touch fills several); 10 % is spread over the other touches; the shares of
-- missing milestones (and the 10 % when no other touch exists) drop out and
-- the rest is rescaled to sum to 1
milestone_weights as (
  select
    c.*,
    case
      when c.w_milestones > 0 then 0.3e0 * c.w_milestones
      else 0.1e0 / sum(case when c.w_milestones = 0 then 1 else 0 end) over (partition by c.lead_id, c.journey_stage)
    end as w_weight,
    case
      when c.full_path_milestones > 0 then 0.225e0 * c.full_path_milestones
      else 0.1e0 / sum(case when c.full_path_milestones = 0 then 1 else 0 end) over (partition by c.lead_id, c.journey_stage)
    end as full_path_weight
  from milestone_counts as c
),

touches as (
  select
    lead_id,
    journey_stage,
    position,
    touch_count,
    touch_phase,
    {{ macro "touch_columns" }},
    {{ days_between "journey_stage_at" "touch_at" }} as days_before_stage,
    w_weight / sum(w_weight) over (partition by lead_id, journey_stage) as w_shaped_credit,
    full_path_weight / sum(full_path_weight) over (partition by lead_id, journey_stage) as full_path_credit
  from milestone_weights
  union all
  -- no web touchpoint in the journey: one Unattributed touch, so the lead is
  -- never dropped
  select
    ls.lead_id,
    ls.stage,
    1,
    1,
    'pre_lead',
    cast(null as string),
    ls.created_at,
    'Unattributed',
    cast(null as string),
    cast(null as string),
    cast(null as string),
    false,
    0,
    cast(null as string),
    0,
    1,
    1
  from lead_stages as ls
  left join (select distinct lead_id, journey_stage from journeys) as j
    on j.lead_id = ls.lead_id and j.journey_stage = ls.stage
  where ls.stage_at is not null and j.lead_id is null
),

-- every touch's state at the data-driven models' grain, as
-- int_attribution_paths builds it
keyed as (
  select
    t.*,
    {{ macro "touch_key" "t.channel" "t.source" "t.medium" "t.campaign" }} as touch_key
  from touches as t
),

-- the lead's path as int_attribution_paths counts it: its pre-lead touches
journey_paths as (
  select
    lead_id,
    journey_stage,
    string_agg({{ macro "path_state" "touch_key" }}, ' > ' order by position) as path
  from keyed
  where touch_phase = 'pre_lead' and session_key is not null
  group by lead_id, journey_stage
),

weighted as (
  select
    t.*,
    ls.stage,
    ls.stage_at,
    ls.revenue_reporting,
    ls.reporting_currency,
    max(case when t.channel != 'Direct' then t.position end)
      over (partition by t.lead_id, ls.stage) as last_non_direct_position,
    -- time decay: half the weight every half-life before the lead reached the stage
    pow(2.0, -greatest(t.days_before_stage, 0) / {{ var "time_decay_half_life_days" }}) as decay_weight,
    -- Markov: the channel's removal effect shared by its touches in this journey
    re.removal_effect / count(*) over (partition by t.lead_id, ls.stage, re.channel) as markov_weight,
    -- Shapley: the credit its channel earned on the lead's path, shared by
    -- the channel's touches on it
    sc.credit / count(*) over (partition by t.lead_id, ls.stage, sc.channel) as shapley_weight
  from keyed as t
  join lead_stages as ls on ls.lead_id = t.lead_id and ls.stage = t.journey_stage
  left join {{ ref "int_markov_removal_effects" }} as re
    on re.stage = ls.stage and re.touch_key = t.touch_key
  left join journey_paths as jp
    on jp.lead_id = t.lead_id and jp.journey_stage = t.journey_stage and t.touch_phase = 'pre_lead'
  left join {{ ref "int_shapley_touch_credits" }} as sc
    on sc.stage = ls.stage and sc.path = jp.path and sc.touch_key = t.touch_key
),

normalised as (
  select
    *,
    decay_weight / sum(decay_weight) over (partition by lead_id, stage) as time_decay_credit,
    sum(coalesce(markov_weight, 0)) over (partition by lead_id, stage) as markov_total,
    sum(coalesce(shapley_weight, 0)) over (partition by lead_id, stage) as shapley_total
  from weighted
),

credited as (
  {{ macro "credited" "normalised" }}
)

select
  lead_id,
  stage,
  model,
  session_key,
  touch_at,
  position,
  touch_count,
  is_lead_form_session,
  channel,
  source,
  medium,
  campaign,
  days_before_lead,
  stage_at,
  credit,
  {{ safe_cast "credit * revenue_reporting" "NUMERIC" }} as revenue_credit,
  reporting_currency,
  touch_phase,
  days_before_stage,
  touch_type
from credited
