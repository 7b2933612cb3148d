"""riskmart's daily cycle on Airflow 3: one task per step of `riskmart run` (riskmart.pipeline.STEPS), each a
`riskmart` command, for the data date of the run's logical date.

Copy this file into the DAGs folder of an Airflow whose workers have riskmart installed
(`pip install 'riskmart[bigquery]'`, the `riskmart` command on their PATH) and its environment configured
(README, "Running on BigQuery"). Airflow Variables choose the dbt target (`riskmart_dbt_target`, default
`prod`); every other setting comes from the workers' RISKMART_* environment, the PII salt from a secret.

A run's logical date is the start of its data interval (a data-interval timetable, as Airflow 2's cron
schedules were; Airflow 3's plain cron strings start runs whose logical date is the trigger time instead):
the run with logical date D (`{{ ds }}`) scores the export dated D, started at 06:00 UTC of the next day, when
the lender's export of D has landed (change EXPORT_LANDED_CRON to your delivery time). A run triggered by hand
needs a logical date too. Each task can be cleared and re-run alone, as each `riskmart`
step can (a re-run gives the same result); a failed task is retried after a delay, and the tasks after it
wait. Only one run at a time: days build on one another (incremental marts, the champion's age), so
backfills run oldest first (`max_active_runs=1`).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG
from airflow.timetables.interval import CronDataIntervalTimetable

# Daily data intervals [D 06:00, D+1 06:00) UTC: logical date D, started at D+1 06:00.
EXPORT_LANDED_CRON = "0 6 * * *"

# The environment of every task, on top of the worker's own (append_env): the dbt target from a Variable.
RISKMART_ENV = {"RISKMART_DBT_TARGET": "{{ var.value.get('riskmart_dbt_target', 'prod') }}"}

with DAG(
    dag_id="riskmart_daily",
    description="riskmart daily cycle: ingest, build the features, train when due, score, build the scores,"
    " publish, maintain",
    schedule=CronDataIntervalTimetable(EXPORT_LANDED_CRON, timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={
        "retries": 2,
        "retry_delay": timedelta(minutes=10),
        "retry_exponential_backoff": True,
        "execution_timeout": timedelta(hours=3),
    },
    tags=["riskmart"],
) as dag:
    ingest = BashOperator(
        task_id="ingest",
        bash_command="riskmart ingest --as-of {{ ds }}",
        env=RISKMART_ENV,
        append_env=True,
    )
    build_features = BashOperator(
        task_id="build_features",
        bash_command="riskmart build --daily features --as-of {{ ds }}",
        env=RISKMART_ENV,
        append_env=True,
    )
    train = BashOperator(
        task_id="train",
        bash_command="riskmart train --if-due --as-of {{ ds }}",
        env=RISKMART_ENV,
        append_env=True,
    )
    score = BashOperator(
        task_id="score",
        bash_command="riskmart score --if-champion --date {{ ds }}",
        env=RISKMART_ENV,
        append_env=True,
    )
    build_scores = BashOperator(
        task_id="build_scores",
        bash_command="riskmart build --daily scores --as-of {{ ds }}",
        env=RISKMART_ENV,
        append_env=True,
    )
    publish = BashOperator(
        task_id="publish",
        bash_command="riskmart publish",
        env=RISKMART_ENV,
        append_env=True,
    )
    maintain = BashOperator(
        task_id="maintain",
        bash_command="riskmart maintain",
        env=RISKMART_ENV,
        append_env=True,
    )

    ingest >> build_features >> train >> score >> build_scores >> publish >> maintain
