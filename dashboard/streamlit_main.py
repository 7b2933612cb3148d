"""`python -m dashboard.streamlit_main run dashboard/app.py …`: Streamlit's own command line, in a process that
has already imported and exercised what every page needs before it serves.

Streamlit runs the app's script in the server process on the first page view, so with a plain `streamlit run`
the first reader's page pays, once per server process, for: importing pandas, Plotly Express, DuckDB and the
data layer; Plotly's first figure (templates, validators); Streamlit's first-element check that it is not in
a REPL (`inspect.stack()`, which resolves the path of every loaded module); and the full garbage collection
Streamlit runs after each script run, over every object those imports created. Here the server pays them
while starting, before it answers its health check, and freezes what start-up created out of the garbage
collector's sight (`gc.freeze`), so the collection after each run only walks what the pages create."""

from __future__ import annotations

import gc
import inspect
import sys

import duckdb
import pandas as pd
import plotly.express as px
from streamlit.web.cli import main

import dashboard.data  # noqa: F401  (the app's data layer and the bundle reader)


def warm_up() -> None:
    """Run once what the first page would otherwise run first."""
    with duckdb.connect() as con:
        frame = con.execute("select 'A' as band, 1 as clients").df()
    px.bar(pd.DataFrame(frame), x="band", y="clients", color="band", title="warm-up").to_json()
    inspect.stack()  # fills inspect's module-by-file cache, which Streamlit's REPL check walks
    gc.collect()
    gc.freeze()


if __name__ == "__main__":
    warm_up()
    sys.exit(main(prog_name="streamlit"))
