"""The risk dashboard (Streamlit + Plotly): draws the published snapshot's marts, never the warehouse."""
