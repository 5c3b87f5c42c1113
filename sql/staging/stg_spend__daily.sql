/*
description: >
  Ad spend per (day, source, medium, campaign, currency) with its GA4 default
  channel group and the cost in the reporting currency. The rate is the
  nearest earlier rate of stg_fx__rates; a row without one keeps
  cost_reporting NULL and fx_missing = true, never zero, so missing rates
  show up instead of silently lowering spend.
materialized: table
tests:
  not_null: [spend_date, source, medium, channel, currency, cost, fx_missing]
  unique_combination: [[spend_date, source, medium, campaign, currency]]
*/
with spend as (
  select
    spend_date,
    lower(trim(source)) as source,
    lower(trim(medium)) as medium,
    nullif(trim(campaign), '') as campaign,
    upper(currency) as currency,
    sum(cost) as cost,
    count(*) as source_rows
  from {{ source "spend" "daily" }}
  group by 1, 2, 3, 4, 5
),

categorised as (
  select
    s.*,
    s.source as src,
    s.medium as med,
    lower(coalesce(s.campaign, '')) as camp,
    c.source_category as cat
  from spend as s
  left join {{ ref "seed_ga4_source_categories" }} as c
    on c.source = s.source
),

-- The same rules, text for text, as stg_ga4__sessions (between the markers;
-- tests/attribution checks they stay identical), so spend and sessions land
-- in the same channels.
grouped as (
  select
    *,
    -- channel rules: begin (GA4 default channel group, first match wins)
    case
      when src = '(direct)' and med in ('(none)', '(not set)') then 'Direct'
      when regexp_contains(camp, 'cross-network') then 'Cross-network'
      when (cat = 'SOURCE_CATEGORY_SHOPPING' or regexp_contains(camp, '^(.*(([^a-df-z]|^)shop|shopping).*)$'))
        and regexp_contains(med, '^(.*cp.*|ppc|retargeting|paid.*)$') then 'Paid Shopping'
      when cat = 'SOURCE_CATEGORY_SEARCH' and regexp_contains(med, '^(.*cp.*|ppc|retargeting|paid.*)$') then 'Paid Search'
      when cat = 'SOURCE_CATEGORY_SOCIAL' and regexp_contains(med, '^(.*cp.*|ppc|retargeting|paid.*)$') then 'Paid Social'
      when cat = 'SOURCE_CATEGORY_VIDEO' and regexp_contains(med, '^(.*cp.*|ppc|retargeting|paid.*)$') then 'Paid Video'
      when med in ('display', 'banner', 'expandable', 'interstitial', 'cpm') then 'Display'
      when regexp_contains(med, '^(.*cp.*|ppc|retargeting|paid.*)$') then 'Paid Other'
      when cat = 'SOURCE_CATEGORY_SHOPPING' or regexp_contains(camp, '^(.*(([^a-df-z]|^)shop|shopping).*)$') then 'Organic Shopping'
      when cat = 'SOURCE_CATEGORY_SOCIAL' or med in ('social', 'social-network', 'social-media', 'sm', 'social network', 'social media') then 'Organic Social'
      when cat = 'SOURCE_CATEGORY_VIDEO' or regexp_contains(med, '^(.*video.*)$') then 'Organic Video'
      when cat = 'SOURCE_CATEGORY_SEARCH' or med = 'organic' then 'Organic Search'
      when med in ('referral', 'app', 'link') then 'Referral'
      when src in ('email', 'e-mail', 'e_mail', 'e mail') or med in ('email', 'e-mail', 'e_mail', 'e mail') then 'Email'
      when med = 'affiliate' then 'Affiliates'
      when med = 'audio' then 'Audio'
      when src = 'sms' or med = 'sms' then 'SMS'
      when regexp_contains(med, '(push$|mobile|notification)') or src = 'firebase' then 'Mobile Push Notifications'
      else 'Unassigned'
    end as channel
    -- channel rules: end
  from categorised
),

converted as (
  select
    g.*,
    case when g.currency = {{ var "reporting_currency" }} then 1.0 else fx.rate end as fx_rate
  from grouped as g
  left join {{ ref "stg_fx__rates" }} as fx
    on fx.from_currency = g.currency
    and fx.to_currency = {{ var "reporting_currency" }}
    and g.spend_date >= fx.valid_from
    and (fx.valid_to is null or g.spend_date < fx.valid_to)
)

select
  spend_date,
  source,
  medium,
  campaign,
  channel,
  currency,
  cost,
  source_rows,
  {{ var "reporting_currency" }} as reporting_currency,
  fx_rate,
  case
    when currency = {{ var "reporting_currency" }} then cost
    else {{ safe_cast "cost * fx_rate" "NUMERIC" }}
  end as cost_reporting,
  fx_rate is null as fx_missing
from converted
