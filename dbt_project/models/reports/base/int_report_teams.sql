-- The teams that get reports (status active on D), with the report date.
select
    team_id,
    {{ as_of_date() }} as as_of_date,
    team_alias,
    include_pii
from {{ ref('dim_team') }}
where status = 'active'
