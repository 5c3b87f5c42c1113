{{- /*
The channel states of the Markov chains and their index, per stage: every
to_state of transitions (a table or CTE of int_markov_transitions' stage,
from_state, to_state) but the absorbing (conversion) and (null), numbered 1..n
in name order. int_markov_matrix indexes its matrices by it and
int_markov_removal_effects reads the channel of an index back, so both must
number alike. It renders a query whose lines after the first are indented for
a CTE body two spaces deep.
*/ -}}
{{ define "markov_channels" -}}
{{ params "transitions" -}}
select
    stage,
    channel,
    dense_rank() over (partition by stage order by channel) as idx
  from (
    select distinct stage, to_state as channel
    from {{ .transitions }}
    where to_state not in ('(conversion)', '(null)')
  ) as c
{{- end }}
