-- Usage sheet: the usage history rows dated in Past 30 days.
select history.*
from {{ ref('rpt_usage_history') }} as history
inner join {{ ref('int_time_ranges') }} as ranges
    on history.day_used between ranges.start_date and ranges.end_date
where ranges.time_range = 'Past 30 days'
