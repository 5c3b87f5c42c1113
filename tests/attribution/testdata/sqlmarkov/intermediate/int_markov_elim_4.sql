/*
description: Markov channel states 25 to 32 eliminated, as macros/markov_elimination.sql describes.
materialized: table
tests:
  not_null: [stage, removed, from_idx, to_idx, p]
*/
{{ macro "markov_elimination" 24 (ref "int_markov_elim_3") }}
