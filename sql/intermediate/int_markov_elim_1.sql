/*
description: >
  Exact elimination of channel states 1 to 8 of the Markov matrices
  (see int_markov_removal_effects for the method). Reads int_markov_matrix.
materialized: table
tests:
  not_null: [stage, removed, from_idx, to_idx, p]
*/
{{- /* Eight states per model keeps DuckDB's planning time low: see macros/markov_elimination.sql. */ -}}
{{ macro "markov_elimination" 0 (ref "int_markov_matrix") }}
