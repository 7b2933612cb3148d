"""BigQuery's client for the Python layers, built from the same settings (RISKMART_BQ_*) as dbt's profile.

Authentication as the profile's `method`: `service-account` reads the JSON key at RISKMART_BQ_KEYFILE,
`oauth` uses Google's application default credentials (`gcloud auth application-default login`, a workload
identity, the metadata server). With RISKMART_BQ_API_ENDPOINT set (the local emulator of the tests), the
client sends its calls there with anonymous credentials: an emulator checks none.

google-cloud-bigquery is an optional extra (`pip install 'riskmart[bigquery]'`), imported only here and
only when a BigQuery target is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from riskmart.settings import Settings, SettingsError

if TYPE_CHECKING:
    from google.cloud import bigquery

INSTALL_HINT = "install the BigQuery extra: pip install 'riskmart[bigquery]' (make install does)"

# BigQuery's datasets are dbt's schema names (macros/generate_schema_name.sql uses custom schemas as they
# are), all in the project RISKMART_BQ_PROJECT: raw (ingest), staging, intermediate, marts, ml (scores and
# registry), riskmart_meta (build fingerprints, cycle runs), seeds, snapshots; and RISKMART_BQ_DATASET for
# anything without a schema.
DATASETS = ("raw", "staging", "intermediate", "marts", "ml", "riskmart_meta", "seeds", "snapshots")


def bigquery_client(settings: Settings) -> bigquery.Client:
    """A client of settings.bq_project in settings.bq_location, authenticated as settings.bq_method."""
    try:
        from google.cloud import bigquery
    except ImportError as exc:
        raise SettingsError(
            f"the dbt target {settings.dbt_target!r} is BigQuery: {exc}", INSTALL_HINT
        ) from None
    if not settings.bq_project:
        raise SettingsError(
            f"the dbt target {settings.dbt_target!r} is BigQuery but no project is set",
            "set RISKMART_BQ_PROJECT to the Google Cloud project holding riskmart's datasets",
        )
    if settings.bq_api_endpoint:
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials

        return bigquery.Client(
            project=settings.bq_project,
            location=settings.bq_location,
            credentials=AnonymousCredentials(),
            client_options=ClientOptions(api_endpoint=settings.bq_api_endpoint),
        )
    if settings.bq_method == "service-account":
        keyfile = settings.bq_keyfile
        if keyfile is None or not keyfile.is_file():
            raise SettingsError(
                f"RISKMART_BQ_METHOD is service-account but the key file {keyfile or '(unset)'} does not exist",
                "set RISKMART_BQ_KEYFILE to the service account's JSON key, or use RISKMART_BQ_METHOD=oauth",
            )
        try:
            return bigquery.Client.from_service_account_json(
                str(keyfile), project=settings.bq_project, location=settings.bq_location
            )
        except ValueError as exc:
            raise SettingsError(
                f"{keyfile} is not a service-account key: {exc}",
                "download a JSON key of the service account (IAM > Service accounts > Keys)",
            ) from None
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/bigquery"])
    except DefaultCredentialsError as exc:
        raise SettingsError(
            f"RISKMART_BQ_METHOD is oauth but no Google credentials were found: {exc}",
            "run `gcloud auth application-default login`, run where a service identity is attached, or use"
            " RISKMART_BQ_METHOD=service-account with RISKMART_BQ_KEYFILE",
        ) from None
    return bigquery.Client(
        project=settings.bq_project, location=settings.bq_location, credentials=credentials
    )


def raw_writer(settings: Settings):
    """Ingest's writer of BigQuery's raw dataset (ingest.bigquery.BigQueryRawWriter) for these settings."""
    from ingest.bigquery import BigQueryRawWriter

    return BigQueryRawWriter(bigquery_client(settings), settings.bq_project, location=settings.bq_location)
