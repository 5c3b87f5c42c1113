{{- /*
The attribution models SAM computes, one row each in a column named model:
attribution_touchpoints credits every lead once per model, and
channel_performance reports every model even where it credited nothing.
A new model is added here (and to attribution_touchpoints' credit rules and
its accepted_values test). It renders a query whose lines after the first are
indented for a CTE body two spaces deep.
*/ -}}
{{ define "attribution_models" -}}
select 'first_touch' as model
  union all select 'last_touch'
  union all select 'last_non_direct'
  union all select 'linear'
  union all select 'time_decay'
  union all select 'position_based'
  union all select 'markov'
{{- end }}
