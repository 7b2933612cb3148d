-- The quarantine's audit trail is queryable without PII: its staging model carries no `record` (the lender's
-- row verbatim, which may hold the client's name or tax id) and no column of those names.
{{ columns_named_like(
    [ref('stg_ingest__quarantined_records')], ['record', 'client_name', 'tax_id'], match='exact'
) }}
