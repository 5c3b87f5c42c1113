/*
description: >
  Every predicted value is non-negative, every won rate lies in [0, 1], and
  spam leads are predicted 0.
*/
select lead_id, stage, 'predicted_value below 0' as problem
from {{ ref "lead_value_predictions" }}
where predicted_value < 0 or avg_won_revenue < 0
union all
select lead_id, stage, 'p_won outside [0, 1]'
from {{ ref "lead_value_predictions" }}
where p_won < 0 or p_won > 1
union all
select lead_id, stage, 'spam lead with a value'
from {{ ref "lead_value_predictions" }}
where cohort_grain = 'spam' and (predicted_value is null or predicted_value != 0)
