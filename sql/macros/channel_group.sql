{{- /*
The channel of a session or a spend row under the channel group the
configuration selects (SAM_CHANNEL_GROUP, var channel_group; "default" when
unset): the group's rules in seeds/channel_groups.csv, in file order, first
match wins, else Unassigned. The shipped "default" group is GA4's default
channel group with GA4's own source categories
(seeds/ga4_source_categories.csv). stg_ga4__sessions and stg_spend__daily
both call it, so spend and sessions land in the same channels and cost per
lead divides like by like.

The rules are rendered into the SQL, not joined at run time: editing a
group changes the rendered SQL of exactly the models that use it, so they,
and only they (with what reads them), rebuild.

Arguments are SQL expressions: source, medium and campaign lower-cased
(campaign '' rather than NULL), source_category the seed's category of the
source (NULL when it has none). It renders a CASE expression whose lines
after the first are indented for a select list four spaces deep.
*/ -}}
{{ define "channel_group" -}}
{{ params "source" "medium" "campaign" "source_category" -}}
{{ macro "channel_group_rules" (var_value "channel_group" "default") .source .medium .campaign .source_category }}
{{- end }}

{{- /*
channel_group_rules is channel_group for a named group (a plain name, not
SQL). A group without rules renders an expression that fails the build with
the group's name, rather than classifying everything as Unassigned.
*/ -}}
{{ define "channel_group_rules" -}}
{{ params "group" "source" "medium" "campaign" "source_category" -}}
{{ $found := false -}}
case
{{- range $r := seed_rows "channel_groups" }}{{ if eq (index $r "channel_group") $.group }}{{ $found = true }}{{ $and := "" }}
      when
        {{- with index $r "source_category" }} {{ $.source_category }} = {{ string_literal . }}{{ $and = " and" }}{{ end }}
        {{- with index $r "source" }}{{ $and }} regexp_contains({{ $.source }}, {{ string_literal . }}){{ $and = " and" }}{{ end }}
        {{- with index $r "medium" }}{{ $and }} regexp_contains({{ $.medium }}, {{ string_literal . }}){{ $and = " and" }}{{ end }}
        {{- with index $r "campaign" }}{{ $and }} regexp_contains({{ $.campaign }}, {{ string_literal . }}){{ end }} then {{ string_literal (index $r "channel") }}
{{- end }}{{ end }}
      {{- if $found }}
      else 'Unassigned'
      {{- else }}
      when true then error({{ string_literal (printf "channel group %q has no rules in seeds/channel_groups.csv" $.group) }})
      {{- end }}
    end
{{- end }}

{{- /*
channel_group_channels lists the channels a group can assign, as SQL string
literals separated by commas (Unassigned included), for accepted-values
checks.
*/ -}}
{{ define "channel_group_channels" -}}
{{ params "group" -}}
{{ range $r := seed_rows "channel_groups" }}{{ if eq (index $r "channel_group") $.group }}{{ string_literal (index $r "channel") }}, {{ end }}{{ end }}'Unassigned'
{{- end }}
