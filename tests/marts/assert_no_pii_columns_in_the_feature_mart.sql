-- PII (client name, tax id), even hashed, never reaches the feature marts or their intermediate models.
{{ columns_named_like([
    ref('int_client_feature_dates'),
    ref('int_client_payment_features'),
    ref('int_client_invoice_features'),
    ref('int_client_order_features'),
    ref('int_client_credit_features'),
    ref('int_client_plan_features'),
    ref('int_client_bureau_features'),
    ref('int_default_labels'),
    ref('fct_client_features'),
    ref('fct_rule_scores'),
    ref('ml_training_set'),
], ['client_name', 'tax_id'], match='contains') }}
