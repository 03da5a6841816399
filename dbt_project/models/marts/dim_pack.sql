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
    reseller_email
from {{ ref('stg_token_packs') }}
