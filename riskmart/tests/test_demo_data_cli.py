"""`riskmart demo-data`: the CLI writes the demo export and refuses a landing that already holds files."""

from __future__ import annotations

from typer.testing import CliRunner

from riskmart.cli import app


def test_cli_demo_data(tmp_path):
    result = CliRunner().invoke(
        app,
        [
            "demo-data",
            "--clients",
            "30",
            "--months",
            "2",
            "--end-date",
            "2026-01-31",
            "--landing",
            str(tmp_path / "l"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "truth" / "client_month_pd.csv").exists()
    assert len(list((tmp_path / "l" / "clients").iterdir())) > 50
    again = CliRunner().invoke(
        app, ["demo-data", "--clients", "30", "--months", "2", "--landing", str(tmp_path / "l")]
    )
    assert again.exit_code == 2 and "is not empty" in " ".join(again.output.split())
