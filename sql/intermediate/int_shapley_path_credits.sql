/*
description: >
  Shapley-style credits of every converting path, as Google's fractribution
  computes them (go_model shapley_path_credits, attribution.Shapley): per
  (stage, path, channel) the channel's share of the path's conversions
  (credit; a path's credits sum to 1) and attributed_conversions = credit ×
  conversions. Paths are int_attribution_paths after path_transform and
  min_path_journeys pooling, as for int_markov_removal_effects.
materialized: go
go_model: shapley_path_credits
tests:
  not_null: [stage, path, channel, journeys, conversions, credit, attributed_conversions]
  unique_combination: [[stage, path, channel]]
*/
select stage, path, journeys, conversions
from {{ ref "int_attribution_paths" }}
