-- A manual override that ends before it starts is a typo in the RM team's file.
select client_id, valid_from, valid_until
from {{ ref('tier_overrides') }}
where valid_from is not null and valid_until < valid_from
