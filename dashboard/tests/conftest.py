"""The dashboard's fixtures: a copy of the published folder of the session's real demo cycle."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture
def published(demo_cycle, tmp_path: Path) -> Path:
    """A private copy of the demo cycle's published folder (tests may publish again into it)."""
    target = tmp_path / "published"
    shutil.copytree(demo_cycle.settings.publish_path, target)
    return target


def open_page(publish_dir: Path, page: str, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """Run the app as Streamlit would, on `page`, reading `publish_dir`."""
    monkeypatch.setenv("RISKMART_PUBLISH_DIR", str(publish_dir))
    app = AppTest.from_file(APP, default_timeout=60)
    app.query_params["page"] = page
    app.run()
    return app


def shown_text(app: AppTest) -> str:
    """Everything a reader sees as text: headers, markdown, captions, metrics, notices."""
    parts = [e.value for kind in ("header", "subheader", "markdown", "caption") for e in getattr(app, kind)]
    parts += [f"{m.label}: {m.value}" for m in app.metric]
    parts += [e.value for kind in ("info", "warning", "error", "success") for e in getattr(app, kind)]
    return "\n".join(str(p) for p in parts)


def figure_of(chart) -> dict:
    """The plotly figure an `st.plotly_chart` element of an AppTest run carries (its JSON spec)."""
    return json.loads(chart.proto.spec)


def title_of(chart) -> str:
    return figure_of(chart)["layout"]["title"]["text"]


def trace_values(trace: dict, axis: str) -> list:
    """A trace's `x` or `y` values: a list, or the typed array plotly writes for numpy data."""
    values = trace[axis]
    if isinstance(values, dict):  # {"dtype": "f8", "bdata": <base64>}
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return list(values)
