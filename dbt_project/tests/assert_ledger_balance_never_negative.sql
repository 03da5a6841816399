-- The drawdown's closed form assumes a bucket never holds a negative balance
-- when a charge with tokens left reaches it (an outflow larger than the
-- balance). Any such charge is returned.
select *
from {{ ref('int_bucket_charge_balances') }} as balances
where residual_before > 0 and balance_before < 0
