-- The time ranges cut into bands: the ranges' first days and the days after their last days
-- split the calendar into non-overlapping date bands, and each range is a union of bands.
-- One row per (range, band of the range). Band aggregates summed over these rows give range
-- figures; a distinct count needs its band rows per key first (days of bands never overlap).
with boundaries as (
    select start_date as boundary
    from {{ ref('int_time_ranges') }}
    union
    select {{ date_add_days('end_date', 1) }} as boundary
    from {{ ref('int_time_ranges') }}
),

bands as (
    select
        boundary as band_start,
        {{ date_add_days('lead(boundary) over (order by boundary)', -1) }} as band_end
    from boundaries
)

select
    ranges.range_order,
    bands.band_start,
    bands.band_end
from {{ ref('int_time_ranges') }} as ranges
inner join bands
    on
        ranges.start_date <= bands.band_start
        and ranges.end_date >= bands.band_end
