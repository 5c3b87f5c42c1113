/*
description: Markov channel states 9 to 16 eliminated, as macros/markov_elimination.sql describes.
materialized: table
tests:
  not_null: [stage, removed, from_idx, to_idx, p]
*/
{{ macro "markov_elimination" 8 (ref "int_markov_elim_1") }}
