/*
description: >
  Exact elimination of channel states 17 to 24 of the Markov matrices
  (see int_markov_removal_effects for the method). Reads int_markov_elim_2.
materialized: table
tests:
  not_null: [stage, removed, from_idx, to_idx, p]
*/
{{- /* Eight states per model keeps DuckDB's planning time low: see macros/markov_elimination.sql. */ -}}
{{ macro "markov_elimination" 16 (ref "int_markov_elim_2") }}
