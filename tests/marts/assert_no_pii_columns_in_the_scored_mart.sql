-- PII (client name, tax id), even hashed, never reaches the scored mart that the API and BI read.
{{ columns_named_like([ref('fct_client_scores')], ['client_name', 'tax_id'], match='contains') }}
