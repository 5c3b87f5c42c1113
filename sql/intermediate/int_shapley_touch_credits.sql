/*
description: >
  The Shapley credits of int_shapley_path_credits keyed for journeys
  (go_model shapley_touch_credits): one row per (stage, path, touch_key) of
  every path of int_attribution_paths, as counted (before path_transform
  and min_path_journeys pooling), whose prepared path converted at the
  stage. touch_key is a state of the path, channel the state it became
  (itself unless pooled into Other) and credit that channel's share of the
  prepared path's conversions. attribution_touchpoints joins a lead's
  touches on its path and touch_key; touches of one channel share its
  credit.
materialized: go
go_model: shapley_touch_credits
tests:
  not_null: [stage, path, touch_key, channel, credit]
  unique_combination: [[stage, path, touch_key]]
*/
select stage, path, journeys, conversions
from {{ ref "int_attribution_paths" }}
