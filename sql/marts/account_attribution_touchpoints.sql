/*
description: >
  Account-level attribution: one row per (account, touch, model) for every
  account with an opportunity. An account's journey is every touch of every
  one of its leads (int_lead_accounts) up to its first opportunity: each
  lead's touchpoints (int_lead_touchpoints) and the sessions its clients
  started after the lead's creation, a session shared by two leads counted
  once. The same models as attribution_touchpoints credit it, over the
  account's journey: the W-shaped and full-path milestones are the first
  touch, the account's first lead creation (its form session, else its last
  touch before) and the opportunity creation (the last touch). Credits of
  one account sum to 1 per model; revenue_credit shares its won revenue
  (fct_account_revenue). An account with no touch before its opportunity
  has one Unattributed touch with credit 1.
  Rebuilt in full: account-grain, restated by any CRM change (a deal, an
  account link); sessions are read only by a join probing the leads'
  clients, so its cost follows leads, not the export.
materialized: table
cluster_by: [model, channel]
tests:
  not_null: [account_id, model, position, touch_count, channel, credit, revenue_credit, opportunity_at]
  unique_combination: [[account_id, model, position]]
*/
with accounts as (
  select account_id, first_opportunity_at as opportunity_at, first_lead_at, won_revenue, reporting_currency
  from {{ ref "fct_account_revenue" }}
  where first_opportunity_at is not null
),

account_leads as (
  select la.account_id, la.lead_id, l.created_at
  from {{ ref "int_lead_accounts" }} as la
  join {{ ref "int_lead_stages" }} as l on l.lead_id = la.lead_id
),

lead_clients as (
  {{ macro "lead_client_keys" (ref "int_lead_stages") (ref "int_lead_identity") }}
),

lead_touches as (
  select lead_id, session_key, touch_at, channel, source, medium, campaign, is_lead_form_session
  from {{ ref "int_lead_touchpoints" }}
  union all
  select distinct
    {{ macro "session_touch" "l" "s" }}
  from lead_clients as l
  join {{ ref "stg_ga4__sessions" }} as s on s.client_key = l.client_key
  where s.session_start_ts > l.created_at
),

-- one row per account and session: a session two leads share counts once
account_touches as (
  select *
  from (
    select
      a.account_id,
      a.opportunity_at,
      a.won_revenue,
      a.reporting_currency,
      t.lead_id,
      t.session_key,
      t.touch_at,
      t.channel,
      t.source,
      t.medium,
      t.campaign,
      t.is_lead_form_session,
      row_number() over (
        partition by a.account_id, t.session_key
        order by t.is_lead_form_session desc, t.lead_id
      ) as dup
    from accounts as a
    join account_leads as al on al.account_id = a.account_id
    join lead_touches as t on t.lead_id = al.lead_id
    where t.touch_at <= a.opportunity_at
  ) as d
  where dup = 1
),

journeys as (
  select
    t.*,
    row_number() over (partition by t.account_id order by t.touch_at, t.session_key) as position,
    count(*) over (partition by t.account_id) as touch_count
  from account_touches as t
),

-- the account's first lead, whose creation is the lead-creation milestone
first_lead as (
  select account_id, lead_id, created_at
  from (
    select
      al.*,
      row_number() over (partition by al.account_id order by al.created_at, al.lead_id) as pick
    from account_leads as al
  ) as r
  where pick = 1
),

milestones as (
  select
    j.*,
    coalesce(
      max(case when j.is_lead_form_session and j.lead_id = fl.lead_id then j.position end) over (partition by j.account_id),
      max(case when j.touch_at <= fl.created_at then j.position end) over (partition by j.account_id)
    ) as lead_creation_position
  from journeys as j
  left join first_lead as fl on fl.account_id = j.account_id
),

milestone_counts as (
  select
    m.*,
    {{ macro "milestones_filled" "m" "m.lead_creation_position" "m.touch_count" "cast(null as int64)" }} as milestones
  from milestones as m
),

-- W-shaped gives each of its three milestones 30 %, full path each of its
-- four 22.5 % (the closed-won milestone lies after the opportunity, so it
-- drops out); 10 % is spread over the other touches and the rest rescaled
milestone_weights as (
  select
    c.*,
    case
      when c.milestones > 0 then 0.3e0 * c.milestones
      else 0.1e0 / sum(case when c.milestones = 0 then 1 else 0 end) over (partition by c.account_id)
    end as w_weight,
    case
      when c.milestones > 0 then 0.225e0 * c.milestones
      else 0.1e0 / sum(case when c.milestones = 0 then 1 else 0 end) over (partition by c.account_id)
    end as full_path_weight,
    max(case when c.channel != 'Direct' then c.position end) over (partition by c.account_id) as last_non_direct_position,
    pow(2.0, -greatest({{ days_between "c.opportunity_at" "c.touch_at" }}, 0) / {{ var "time_decay_half_life_days" }}) as decay_weight,
    re.removal_effect / count(*) over (partition by c.account_id, re.channel) as markov_weight
  from milestone_counts as c
  left join {{ ref "int_markov_removal_effects" }} as re
    on re.stage = 'opportunity' and re.touch_key = c.channel
),

normalised as (
  select
    account_id,
    opportunity_at,
    won_revenue,
    reporting_currency,
    {{ macro "account_touch_columns" }},
    last_non_direct_position,
    w_weight / sum(w_weight) over (partition by account_id) as w_shaped_credit,
    full_path_weight / sum(full_path_weight) over (partition by account_id) as full_path_credit,
    decay_weight / sum(decay_weight) over (partition by account_id) as time_decay_credit,
    markov_weight,
    sum(coalesce(markov_weight, 0)) over (partition by account_id) as markov_total,
    -- Shapley values are counted over lead journeys only: an account's
    -- journey has no Shapley weights and takes linear credit
    cast(null as float64) as shapley_weight,
    0 as shapley_total
  from milestone_weights
  union all
  select
    a.account_id,
    a.opportunity_at,
    a.won_revenue,
    a.reporting_currency,
    cast(null as string),
    cast(null as string),
    a.opportunity_at,
    1,
    1,
    'Unattributed',
    cast(null as string),
    cast(null as string),
    cast(null as string),
    cast(null as int64),
    1,
    1,
    1,
    cast(null as float64),
    0,
    cast(null as float64),
    0
  from accounts as a
  left join (select distinct account_id from journeys) as j on j.account_id = a.account_id
  where j.account_id is null
),

credited as (
  {{ macro "credited" "normalised" }}
)

select
  account_id,
  model,
  {{ macro "account_touch_columns" }},
  opportunity_at,
  credit,
  {{ safe_cast "credit * won_revenue" "NUMERIC" }} as revenue_credit,
  reporting_currency
from credited
