-- The '*' row is the bank-wide default: without it a client of an institution with no
-- assigned ancestor would get no tier. Returns a row when it is missing.
select 'no default (*) row in tier_rule_assignments' as problem
where not exists (select 1 from {{ ref('tier_rule_assignments') }} where inst_code = '*')
