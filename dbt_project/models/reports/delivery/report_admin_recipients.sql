-- Who receives a team's nightly workbook by e-mail: the members with role admin in the
-- newest team_members snapshot, at their e-mail address from users (one row per address).
select distinct
    teams.team_id,
    teams.as_of_date,
    teams.team_alias as team,
    teams.include_pii,
    user_dim.email
from {{ ref('fct_team_membership') }} as members
inner join {{ ref('int_report_teams') }} as teams on members.team_id = teams.team_id
inner join {{ ref('dim_user') }} as user_dim on members.autodesk_id = user_dim.autodesk_id
where
    members.role = 'admin'
    and user_dim.email is not null
    and trim(user_dim.email) <> ''
