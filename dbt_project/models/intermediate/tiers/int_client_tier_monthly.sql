with

assets as (
    select *
    from {{ ref('int_client_assets_monthly') }}
    where client_type = 'I'
    {% if is_incremental() %}
        and {{ months_in_run_window('month_start') }}
    {% endif %}
),

-- the tree of each month (a client's rule set follows its institution's ancestors then)
institutions as (
    select month_start, inst_code, head_office_code, branch_code, sub_branch_code, outlet_code
    from {{ ref('int_institution_monthly') }}
    {% if is_incremental() %}where {{ months_in_run_window('month_start') }}{% endif %}
),

assignments as (
    select inst_code, rule_set_id
    from {{ ref('tier_rule_assignments') }}
),

-- Nearest ancestor with an assignment wins: the institution itself, then up the tree.
institution_rule_sets as (
    select
        i.month_start,
        i.inst_code,
        coalesce(
            self_a.rule_set_id,
            outlet_a.rule_set_id,
            sub_a.rule_set_id,
            branch_a.rule_set_id,
            head_a.rule_set_id,
            default_a.rule_set_id
        ) as rule_set_id
    from institutions as i
    left join assignments as self_a on self_a.inst_code = i.inst_code
    left join assignments as outlet_a on outlet_a.inst_code = i.outlet_code
    left join assignments as sub_a on sub_a.inst_code = i.sub_branch_code
    left join assignments as branch_a on branch_a.inst_code = i.branch_code
    left join assignments as head_a on head_a.inst_code = i.head_office_code
    left join assignments as default_a on default_a.inst_code = '*'
),

default_rule_set as (
    select rule_set_id from assignments where inst_code = '*'
),

rules as (
    select
        rule_set_id,
        basis,
        tier,
        tier_group,
        tier_rank,
        min_assets_cny,
        lead(min_assets_cny) over (partition by rule_set_id order by tier_rank) as next_min_assets_cny,
        lead(tier) over (partition by rule_set_id order by tier_rank) as next_tier,
        min(tier_rank) over (partition by rule_set_id) as lowest_rank
    from {{ ref('tier_rules') }}
),

rule_set_basis as (
    select distinct rule_set_id, basis from rules
),

-- The tier an executive override grants: the lowest mid/high-end tier of the rule set.
executive_tiers as (
    select rule_set_id, tier, tier_rank, tier_group
    from (
        select
            rule_set_id, tier, tier_rank, tier_group,
            row_number() over (partition by rule_set_id order by tier_rank) as rn
        from rules
        where tier_group = 'mid_high'
    ) as ranked
    where rn = 1
),

based as (
    select
        a.client_id,
        a.month_start,
        a.inst_code,
        a.rm_id,
        coalesce(irs.rule_set_id, (select rule_set_id from default_rule_set)) as rule_set_id,
        a.total_month_end_cny,
        a.total_daily_avg_cny,
        a.is_month_complete,
        a.last_business_date
    from assets as a
    left join institution_rule_sets as irs on irs.inst_code = a.inst_code and irs.month_start = a.month_start
),

with_basis as (
    select
        b.*,
        rsb.basis,
        case rsb.basis
            when 'month_end' then b.total_month_end_cny
            else b.total_daily_avg_cny
        end as assets_basis_cny
    from based as b
    inner join rule_set_basis as rsb on rsb.rule_set_id = b.rule_set_id
),

computed as (
    select
        wb.*,
        r.tier as computed_tier,
        r.tier_rank as computed_tier_rank,
        r.tier_group as computed_tier_group,
        r.next_tier,
        r.next_min_assets_cny as next_tier_min_assets_cny
    from with_basis as wb
    inner join rules as r
        on r.rule_set_id = wb.rule_set_id
        and (wb.assets_basis_cny >= r.min_assets_cny or r.tier_rank = r.lowest_rank)
        and (r.next_min_assets_cny is null or wb.assets_basis_cny < r.next_min_assets_cny)
),

-- Client records in force: each delivered record holds until the client's next delivery.
client_records as (
    select
        client_id,
        employer_client_id,
        job_title,
        business_date as valid_from,
        lead(business_date) over (
            partition by client_id order by business_date, _source_line
        ) as valid_to
    from {{ ref('stg_core__clients') }}
),

payroll_employer_months as (
    select distinct
        employer_client_id,
        cast({{ dbt.date_trunc('month', 'pay_date') }} as date) as pay_month_start
    from {{ ref('stg_payroll__payments') }}
),

executives as (
    select
        c.client_id,
        c.month_start,
        cr.job_title,
        cr.employer_client_id
    from computed as c
    inner join client_records as cr
        on cr.client_id = c.client_id
        and {{ in_force('cr', tiers_month_end('c.month_start')) }}
    inner join {{ ref('executive_override_rules') }} as eor
        on eor.job_title = cr.job_title
    where exists (
        select 1
        from payroll_employer_months as pem
        where pem.employer_client_id = cr.employer_client_id
            and pem.pay_month_start <= c.month_start
            and {{ dbt.datediff('pem.pay_month_start', 'c.month_start', 'month') }} < eor.payroll_lookback_months
    )
),

manual_overrides as (
    select client_id, month_start, tier, reason, set_by, valid_until
    from (
        select
            c.client_id,
            c.month_start,
            o.tier,
            o.reason,
            o.set_by,
            o.valid_until,
            row_number() over (
                partition by c.client_id, c.month_start
                order by o.valid_from desc nulls last, o.valid_until desc, o.set_by
            ) as rn
        from computed as c
        inner join {{ ref('tier_overrides') }} as o
            on o.client_id = c.client_id
            and o.valid_until >= {{ tiers_month_end('c.month_start') }}
            and (o.valid_from is null or o.valid_from <= {{ tiers_month_end('c.month_start') }})
    ) as ranked
    where rn = 1
),

decided as (
    select
        c.*,
        mo.tier as manual_tier,
        mo.reason as manual_reason,
        mo.set_by as override_set_by,
        mo.valid_until as override_valid_until,
        e.job_title as executive_job_title,
        e.employer_client_id as executive_employer_client_id,
        case
            when mo.tier is not null then 'manual'
            when e.client_id is not null and c.computed_tier_group = 'mass' then 'executive'
            else 'none'
        end as override_source
    from computed as c
    left join manual_overrides as mo
        on mo.client_id = c.client_id and mo.month_start = c.month_start
    left join executives as e
        on e.client_id = c.client_id and e.month_start = c.month_start
),

final as (
    select
        d.client_id,
        d.month_start,
        d.inst_code,
        d.rm_id,
        d.rule_set_id,
        d.basis,
        {{ to_money('d.assets_basis_cny') }} as assets_basis_cny,
        {{ to_money('d.total_month_end_cny') }} as total_month_end_cny,
        {{ to_money('d.total_daily_avg_cny') }} as total_daily_avg_cny,
        d.computed_tier,
        d.computed_tier_rank,
        d.computed_tier_group,
        case d.override_source
            when 'manual' then d.manual_tier
            when 'executive' then et.tier
            else d.computed_tier
        end as final_tier,
        case d.override_source
            when 'manual' then mr.tier_rank
            when 'executive' then et.tier_rank
            else d.computed_tier_rank
        end as final_tier_rank,
        case d.override_source
            when 'manual' then mr.tier_group
            when 'executive' then et.tier_group
            else d.computed_tier_group
        end as tier_group,
        d.override_source,
        case d.override_source
            when 'manual' then d.manual_reason
            when 'executive' then {{ dbt.concat(["'executive override: '", 'd.executive_job_title', "' of payroll employer '", 'd.executive_employer_client_id']) }}
        end as override_reason,
        case when d.override_source = 'manual' then d.override_set_by end as override_set_by,
        case when d.override_source = 'manual' then d.override_valid_until end as override_valid_until,
        d.executive_job_title is not null as is_payroll_employer_executive,
        d.next_tier,
        {{ to_money('d.next_tier_min_assets_cny') }} as next_tier_min_assets_cny,
        coalesce(
            d.next_tier_min_assets_cny is not null
            and d.assets_basis_cny < d.next_tier_min_assets_cny
            and d.assets_basis_cny >= d.next_tier_min_assets_cny * hp.near_next_tier_ratio,
            false
        ) as is_near_next_tier,
        d.is_month_complete,
        d.last_business_date
    from decided as d
    left join rules as mr
        on d.override_source = 'manual' and mr.rule_set_id = d.rule_set_id and mr.tier = d.manual_tier
    left join executive_tiers as et
        on et.rule_set_id = d.rule_set_id
    left join {{ ref('hidden_potential_rules') }} as hp
        on hp.rule_set_id = d.rule_set_id
)

select * from final
