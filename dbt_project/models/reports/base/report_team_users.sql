-- Every (team, user) pair a report can show: users with usage in the team and team members.
-- The displayed identity follows the team's include_pii setting; a missing setting hides PII.
with team_user_keys as (
    select usage.team_id, usage.autodesk_id
    from {{ ref('fct_daily_usage') }} as usage
    inner join {{ ref('report_teams') }} as teams on usage.team_id = teams.team_id
    union
    select members.team_id, members.autodesk_id
    from {{ ref('stg_team_members') }} as members
    inner join {{ ref('report_teams') }} as teams on members.team_id = teams.team_id
)

select
    keys.team_id,
    keys.autodesk_id,
    users.hashed_autodesk_id,
    case when teams.include_pii then keys.autodesk_id else '*****' end as shown_autodesk_id,
    case when teams.include_pii then users.email else '*****' end as email,
    case when teams.include_pii then users.first_name else '*****' end as first_name,
    case when teams.include_pii then users.last_name else '*****' end as last_name,
    case
        when teams.include_pii then coalesce(users.full_name, '')
        else users.hashed_autodesk_id
    end as user_name
from team_user_keys as keys
inner join {{ ref('report_teams') }} as teams on keys.team_id = teams.team_id
left join {{ ref('dim_user') }} as users on keys.autodesk_id = users.autodesk_id
