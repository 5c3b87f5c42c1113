/*
description: >
  First-order Markov chain of channel journeys, one row per (stage,
  from_state, to_state) with its transition count and probability. Journeys
  are every lead's touchpoints (int_lead_touchpoints) and every GA client
  never linked to a lead (all its sessions), so non-converting journeys weigh
  in. Each journey runs (start) -> channel -> ... -> channel -> (conversion)
  or (null); a journey converts at stage lead when it is a lead, at stage sql
  when the lead reached SQL, at stage won when it was won. Leads without web
  touchpoints carry no channel information and are left out (they are
  credited to Unattributed).
materialized: table
tests:
  not_null: [stage, from_state, to_state, transitions, probability]
  unique_combination: [[stage, from_state, to_state]]
  accepted_values: {stage: [lead, sql, won]}
*/
with stages as (
  select 'lead' as stage
  union all select 'sql'
  union all select 'won'
),

lead_steps as (
  select
    concat('lead:', t.lead_id) as journey_id,
    t.position,
    t.touch_count as steps,
    t.channel,
    true as converts_lead,
    coalesce(s.sql_at, s.opportunity_at, s.won_at) is not null as converts_sql,
    s.won_at is not null as converts_won
  from {{ ref "int_lead_touchpoints" }} as t
  join {{ ref "int_lead_stages" }} as s on s.lead_id = t.lead_id
),

linked_clients as (
  select distinct client_key
  from {{ ref "int_lead_identity" }}
  where client_key is not null
),

visitor_steps as (
  select
    concat('client:', s.client_key) as journey_id,
    row_number() over (partition by s.client_key order by s.session_start_ts, s.session_key) as position,
    count(*) over (partition by s.client_key) as steps,
    coalesce(s.channel, 'Unassigned') as channel,
    false as converts_lead,
    false as converts_sql,
    false as converts_won
  from {{ ref "stg_ga4__sessions" }} as s
  left join linked_clients as lc on lc.client_key = s.client_key
  where s.client_key is not null and lc.client_key is null
),

steps as (
  select * from lead_steps
  union all
  select * from visitor_steps
),

edges as (
  -- into each touch: from (start) or from the previous touch
  select
    journey_id,
    position,
    coalesce(lag(channel) over (partition by journey_id order by position), '(start)') as from_state,
    channel as to_state,
    cast(null as string) as stage
  from steps
  union all
  -- out of the last touch, per stage
  select
    s.journey_id,
    s.position + 1,
    s.channel,
    case
      when (st.stage = 'lead' and s.converts_lead)
        or (st.stage = 'sql' and s.converts_sql)
        or (st.stage = 'won' and s.converts_won) then '(conversion)'
      else '(null)'
    end,
    st.stage
  from steps as s
  cross join stages as st
  where s.position = s.steps
),

counted as (
  -- transitions between touches are the same at every stage
  select st.stage, e.from_state, e.to_state, count(*) as transitions
  from edges as e
  join stages as st on e.stage is null or e.stage = st.stage
  group by 1, 2, 3
)

select
  stage,
  from_state,
  to_state,
  transitions,
  transitions / sum(transitions) over (partition by stage, from_state) as probability
from counted
