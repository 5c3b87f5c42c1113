/*
description: Markov channel states 1 to 8 eliminated, as macros/markov_elimination.sql describes.
materialized: table
tests:
  not_null: [stage, removed, from_idx, to_idx, p]
*/
{{ macro "markov_elimination" 0 (ref "int_markov_matrix") }}
