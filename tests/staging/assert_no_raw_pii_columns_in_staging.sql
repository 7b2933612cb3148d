-- The raw client name and tax id must not leave raw: no staging model may carry a column of that name.
{{ columns_named_like([
    ref('stg_lender__clients'),
    ref('stg_lender__payments'),
    ref('stg_lender__orders'),
    ref('stg_lender__utilization_months'),
    ref('stg_lender__payment_plans'),
    ref('stg_hcpn__bureau_reports'),
], ['client_name', 'tax_id'], match='exact') }}
