{{- /*
milestones_filled: how many W-shaped / full-path milestones the touch of m
fills (a touch may fill several): the first touch, and the touches at the
lead-creation, opportunity-creation and closed-won positions given; pass
"cast(null as int64)" for a milestone the model or grain does not have
(BigQuery refuses a bare NULL operand of =).
*/ -}}
{{ define "milestones_filled" -}}
{{ params "m" "lead" "opportunity" "won" -}}
case when {{ .m }}.position = 1 then 1 else 0 end
      + case when {{ .m }}.position = {{ .lead }} then 1 else 0 end
      + case when {{ .m }}.position = {{ .opportunity }} then 1 else 0 end
      + case when {{ .m }}.position = {{ .won }} then 1 else 0 end
{{- end }}
