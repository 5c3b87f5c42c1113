/*
description: Markov channel states 17 to 24 eliminated, as macros/markov_elimination.sql describes.
materialized: table
tests:
  not_null: [stage, removed, from_idx, to_idx, p]
*/
{{ macro "markov_elimination" 16 (ref "int_markov_elim_2") }}
