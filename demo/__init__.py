"""The demo lender behind `riskmart demo-data` (see demo/README.md for the generative model)."""
