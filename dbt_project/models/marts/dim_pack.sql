-- Token packs as of D, with the latest valid version of those the newest snapshot lacks.
select
    subscription_id,
    contract_number,
    purchasing_team_id,
    offering_name,
    term,
    tokens_purchased,
    purchase_date,
    start_date,
    end_date,
    reseller_name,
    reseller_email,
    from_newest_snapshot
from {{ ref('stg_token_packs') }}
