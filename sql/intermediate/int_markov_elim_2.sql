/*
description: >
  Exact elimination of channel states 9 to 16 of the Markov matrices
  (see int_markov_removal_effects for the method). Reads int_markov_elim_1.
materialized: table
tests:
  not_null: [stage, removed, from_idx, to_idx, p]
*/
{{- /* Eight states per model keeps DuckDB's planning time low: see macros/markov_elimination.sql. */ -}}
{{ macro "markov_elimination" 8 (ref "int_markov_elim_1") }}
