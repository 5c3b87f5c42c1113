/*
description: >
  The Markov chain of int_markov_transitions as dense transient matrices,
  one per stage and scenario: scenario (none) is the observed chain, scenario
  <channel> the chain with that channel removed (its incoming transitions end
  in (null)). Rows are (start) (index 0) and the channels (1..n in name
  order), columns the channels, (conversion) (-1) and (null) (-2); every pair
  is present, zeros included, so eliminating a state can fill any entry.
  int_markov_elim_1..4 then eliminate the channel states.
materialized: table
tests:
  not_null: [stage, removed, from_idx, to_idx, p]
  unique_combination: [[stage, removed, from_idx, to_idx]]
*/
with transitions as (
  select stage, from_state, to_state, probability
  from {{ ref "int_markov_transitions" }}
),

channels as (
  {{ macro "markov_channels" "transitions" }}
),

scenarios as (
  select distinct stage, '(none)' as removed from transitions
  union all
  select stage, channel from channels
),

-- rows of the transient matrix: (start) and the channels
from_states as (
  select distinct stage, '(start)' as state, 0 as idx from transitions
  union all
  select stage, channel, idx from channels
),

-- columns: the channels and the two absorbing states
to_states as (
  select stage, channel as state, idx from channels
  union all
  select distinct stage, '(conversion)', -1 from transitions
  union all
  select distinct stage, '(null)', -2 from transitions
),

-- in each scenario the removed channel's incoming transitions end in (null)
remapped as (
  select
    sc.stage,
    sc.removed,
    t.from_state,
    case when t.to_state = sc.removed then '(null)' else t.to_state end as to_state,
    sum(t.probability) as p
  from scenarios as sc
  join transitions as t on t.stage = sc.stage and t.from_state != sc.removed
  group by 1, 2, 3, 4
)

-- dense matrices: every (row, column) pair is present, zeros included, so an
-- elimination step can create new non-zero entries in place
select
  sc.stage,
  sc.removed,
  f.idx as from_idx,
  c.idx as to_idx,
  coalesce(r.p, 0) as p
from scenarios as sc
join from_states as f on f.stage = sc.stage and f.state != sc.removed
join to_states as c on c.stage = sc.stage and c.state != sc.removed
left join remapped as r
  on r.stage = sc.stage and r.removed = sc.removed
  and r.from_state = f.state and r.to_state = c.state
