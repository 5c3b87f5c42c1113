/*
description: >
  Removal effect of every channel at every stage of the first-order Markov
  chain in int_markov_transitions: the share of conversions lost when the
  channel is removed (its incoming transitions go to (null)).
  removal_effect = 1 - P(conversion without channel) / P(conversion).
materialized: table
tests:
  not_null: [stage, channel, conversion_probability, removed_probability, removal_effect]
  unique_combination: [[stage, channel]]
*/
{{- /*
Why exact elimination in SQL: the chain has one state per channel (GA4's
default channel groups, about twenty), so the absorption probabilities are
found exactly by eliminating the channel states one at a time: Gaussian
elimination on the absorbing chain, for the eliminated state s
p(i,j) += p(i,s) * p(s,j) / (1 - p(s,s)). Once every channel state is
eliminated (int_markov_matrix -> int_markov_elim_1..4, 32 states),
p((start), (conversion)) is the conversion probability: no simulation and no
iteration tolerance. Each step reads the previous one once through window
functions, so it runs as plain SQL on both engines: no recursive CTE (BigQuery
caps their iterations and restricts what they contain) and no CTE referenced
twice (BigQuery re-evaluates those). invariant_markov_channel_limit fails the
build if a stage ever has more than 32 channel states. Every stage and
scenario (no removal, each channel removed) is eliminated side by side.
*/ -}}
with channels as (
  {{ macro "markov_channels" (ref "int_markov_transitions") }}
),

conversion as (
  select stage, removed, p
  from {{ ref "int_markov_elim_4" }}
  where from_idx = 0 and to_idx = -1
),

base as (
  select stage, p as conversion_probability
  from conversion
  where removed = '(none)'
)

select
  c.stage,
  c.channel,
  b.conversion_probability,
  coalesce(r.p, 0) as removed_probability,
  case
    when b.conversion_probability > 0 then 1 - coalesce(r.p, 0) / b.conversion_probability
    else 0
  end as removal_effect
from channels as c
join base as b on b.stage = c.stage
left join conversion as r on r.stage = c.stage and r.removed = c.channel
