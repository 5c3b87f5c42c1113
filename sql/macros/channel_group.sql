{{- /*
GA4's default channel group of a session or a spend row, first match wins:
the rules and their order as GA4 documents them, with GA4's own source
categories (seeds/ga4_source_categories.csv). stg_ga4__sessions and
stg_spend__daily both call it, so spend and sessions land in the same
channels and cost per lead divides like by like.

Arguments are SQL expressions: source, medium and campaign lower-cased
(campaign '' rather than NULL), source_category the seed's category of the
source (NULL when it has none). It renders a CASE expression whose lines
after the first are indented for a select list four spaces deep.
*/ -}}
{{ define "channel_group" -}}
{{ params "source" "medium" "campaign" "source_category" -}}
case
      when {{ .source }} = '(direct)' and {{ .medium }} in ('(none)', '(not set)') then 'Direct'
      when regexp_contains({{ .campaign }}, 'cross-network') then 'Cross-network'
      when ({{ .source_category }} = 'SOURCE_CATEGORY_SHOPPING' or regexp_contains({{ .campaign }}, '^(.*(([^a-df-z]|^)shop|shopping).*)$'))
        and regexp_contains({{ .medium }}, '^(.*cp.*|ppc|retargeting|paid.*)$') then 'Paid Shopping'
      when {{ .source_category }} = 'SOURCE_CATEGORY_SEARCH' and regexp_contains({{ .medium }}, '^(.*cp.*|ppc|retargeting|paid.*)$') then 'Paid Search'
      when {{ .source_category }} = 'SOURCE_CATEGORY_SOCIAL' and regexp_contains({{ .medium }}, '^(.*cp.*|ppc|retargeting|paid.*)$') then 'Paid Social'
      when {{ .source_category }} = 'SOURCE_CATEGORY_VIDEO' and regexp_contains({{ .medium }}, '^(.*cp.*|ppc|retargeting|paid.*)$') then 'Paid Video'
      when {{ .medium }} in ('display', 'banner', 'expandable', 'interstitial', 'cpm') then 'Display'
      when regexp_contains({{ .medium }}, '^(.*cp.*|ppc|retargeting|paid.*)$') then 'Paid Other'
      when {{ .source_category }} = 'SOURCE_CATEGORY_SHOPPING' or regexp_contains({{ .campaign }}, '^(.*(([^a-df-z]|^)shop|shopping).*)$') then 'Organic Shopping'
      when {{ .source_category }} = 'SOURCE_CATEGORY_SOCIAL' or {{ .medium }} in ('social', 'social-network', 'social-media', 'sm', 'social network', 'social media') then 'Organic Social'
      when {{ .source_category }} = 'SOURCE_CATEGORY_VIDEO' or regexp_contains({{ .medium }}, '^(.*video.*)$') then 'Organic Video'
      when {{ .source_category }} = 'SOURCE_CATEGORY_SEARCH' or {{ .medium }} = 'organic' then 'Organic Search'
      when {{ .medium }} in ('referral', 'app', 'link') then 'Referral'
      when {{ .source }} in ('email', 'e-mail', 'e_mail', 'e mail') or {{ .medium }} in ('email', 'e-mail', 'e_mail', 'e mail') then 'Email'
      when {{ .medium }} = 'affiliate' then 'Affiliates'
      when {{ .medium }} = 'audio' then 'Audio'
      when {{ .source }} = 'sms' or {{ .medium }} = 'sms' then 'SMS'
      when regexp_contains({{ .medium }}, '(push$|mobile|notification)') or {{ .source }} = 'firebase' then 'Mobile Push Notifications'
      else 'Unassigned'
    end
{{- end }}
