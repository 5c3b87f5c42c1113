/*
description: >
  int_markov_removal_effects eliminates at most 32 channel states per stage
  (its unrolled steps); more would leave states uneliminated, so fail loudly.
*/
select stage, count(distinct to_state) as channel_states
from {{ ref "int_markov_transitions" }}
where to_state not in ('(conversion)', '(null)')
group by stage
having count(distinct to_state) > 32
