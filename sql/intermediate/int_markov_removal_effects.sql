/*
description: >
  Removal effect of every channel at every stage of the Markov chain over
  int_attribution_paths: the share of conversions lost when the channel is
  removed (every state holding it leads to (null)).
  removal_effect = 1 - P(conversion without channel) / P(conversion).
  Computed in Go (go_model markov_removal_effects, attribution.RemovalEffects):
  order markov_order (1 to 3, default 1) after the path transform
  path_transform (unique, exposure or first; default unique) and pooling
  channels fewer than min_path_journeys journeys took into Other (default 0:
  none), by an exact sparse solve for any number of states. One row per
  (stage, touch_key): touch_key is the channel as touches carry it, channel
  the state it was pooled into (itself unless pooled).
materialized: go
go_model: markov_removal_effects
tests:
  not_null: [stage, channel, touch_key, markov_order, conversion_probability, removed_probability, removal_effect]
  unique_combination: [[stage, touch_key]]
*/
select stage, path, journeys, conversions
from {{ ref "int_attribution_paths" }}
