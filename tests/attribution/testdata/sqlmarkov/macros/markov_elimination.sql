{{- /*
Eliminates eight channel states of the Markov matrices (see
int_markov_removal_effects for the method): the states offset + 1 to
offset + 8 of matrix, a table of (stage, removed, from_idx, to_idx, p). The
state eliminated at each level is (offset + k + 1); a state's row and column
stay after elimination, since later steps read only the row and column of the
state they eliminate, so stale entries never reach the paths from (start).

Eight states per call: DuckDB's planner grows exponentially with the depth of
nested window subqueries (about 0.1 s at 8 levels, 40 s at 22), so the 32
eliminations are four materialized models, int_markov_elim_1..4, each calling
this macro with its offset and the previous model: int_markov_elim_N
eliminates states 8N - 7 to 8N of int_markov_elim_(N-1), N = 1 reading
int_markov_matrix.
*/ -}}
{{ define "markov_elimination" -}}
{{ params "offset" "matrix" -}}
select stage, removed, from_idx, to_idx, p
from (
{{- range $k := 8 }}
  select stage, removed, from_idx, to_idx,
    p + case when p_ss < 1 then p_is * p_sj / (1 - p_ss) else 0 end as p
  from (
    select
      stage, removed, from_idx, to_idx, p,
      max(case when to_idx = {{ $.offset }} + {{ $k }} + 1 then p else 0 end) over (partition by stage, removed, from_idx) as p_is,
      max(case when from_idx = {{ $.offset }} + {{ $k }} + 1 then p else 0 end) over (partition by stage, removed, to_idx) as p_sj,
      max(case when from_idx = {{ $.offset }} + {{ $k }} + 1 and to_idx = {{ $.offset }} + {{ $k }} + 1 then p else 0 end) over (partition by stage, removed) as p_ss
    from (
{{- end }}
  select stage, removed, from_idx, to_idx, p from {{ $.matrix }}
{{- range $k := 8 }}
    ) as x
  ) as w
{{- end }}
) as eliminated
{{- end }}
