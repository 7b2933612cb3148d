-- Expected hashes computed outside the warehouse: hashlib.sha256((salt + value).encode()).hexdigest()
with

cases as (

    -- an empty salt leaves plain sha256, so the FIPS 180-2 test vector for 'abc' applies
    select
        'empty salt gives the sha256 test vector' as case_name,
        {{ hash_pii("'abc'", salt='') }} as actual_hash,
        'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' as expected_hash

    union all

    select
        'development salt on a tax id' as case_name,
        {{ hash_pii("'900123456'", salt='riskmart-dev-salt') }} as actual_hash,
        '1ee9c2a2d4e64c254e627fd87fd584f26da1584487f803b6cb76037c93fdabdb' as expected_hash

    union all

    -- a number hashes as its text, so an id typed differently on another engine hashes the same
    select
        'numbers hash as their text' as case_name,
        {{ hash_pii('900123456', salt='riskmart-dev-salt') }} as actual_hash,
        '1ee9c2a2d4e64c254e627fd87fd584f26da1584487f803b6cb76037c93fdabdb' as expected_hash

    union all

    select
        'null stays null' as case_name,
        {{ hash_pii('cast(null as ' ~ dbt.type_string() ~ ')', salt='riskmart-dev-salt') }} as actual_hash,
        null as expected_hash

)

select *
from cases
where actual_hash is distinct from expected_hash
