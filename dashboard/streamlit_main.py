"""`python -m dashboard.streamlit_main run dashboard/app.py …`: Streamlit's own command line, in a process that
has already imported and exercised what every page needs (pandas, Plotly Express, DuckDB, the data layer).

Streamlit runs the app's script in the server process on the first page view, so a plain `streamlit run` pays
for these imports (and Plotly's first figure: templates and validators) in the first reader's page, ~1 s of
CPU; here the server pays them once while starting, before it answers its health check."""

from __future__ import annotations

import sys

import duckdb
import pandas as pd
import plotly.express as px
from streamlit.web.cli import main

import dashboard.data  # noqa: F401  (the app's data layer and the bundle reader)


def warm_up() -> None:
    """Run once what the first page would run first: a DuckDB query into pandas and a Plotly figure's JSON."""
    with duckdb.connect() as con:
        frame = con.execute("select 'A' as band, 1 as clients").df()
    px.bar(pd.DataFrame(frame), x="band", y="clients", color="band", title="warm-up").to_json()


if __name__ == "__main__":
    warm_up()
    sys.exit(main(prog_name="streamlit"))
