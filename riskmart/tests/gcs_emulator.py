"""A local Cloud Storage emulator for the tests: `gcp-storage-emulator` (pinned in the dev extra), started on
127.0.0.1 on a free port, in memory, and stopped after use. gcsfs (the `gs://` filesystem riskmart's ingest
and publisher use) reaches it through `STORAGE_EMULATOR_HOST`, anonymously (`FSSPEC_GS_TOKEN=anon`, fsspec's
configuration from the environment): the same listing, reading, upload and delete calls GCS answers, not
GCS's IAM or its consistency guarantees.

Its HTTP server answers one request at a time, and concurrent uploads (gcsfs' `put` of a folder) cost it
about 0.1 s each against ~0.01 s one after the other: upload files one by one."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from riskmart.tests.bigquery_emulator import free_port

READY_TIMEOUT_S = 30


@dataclass(frozen=True)
class StorageEmulator:
    endpoint: str

    def env(self) -> dict[str, str]:
        """The environment that points gcsfs (in this process or a child) at the emulator."""
        return {"STORAGE_EMULATOR_HOST": self.endpoint, "FSSPEC_GS_TOKEN": "anon"}

    def filesystem(self):
        """A gcsfs filesystem of the emulator, for the test's own uploads and checks."""
        import gcsfs

        return gcsfs.GCSFileSystem(endpoint_url=self.endpoint, token="anon", skip_instance_cache=True)


def _ready(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/storage/v1/b", timeout=2) as response:  # noqa: S310 (loopback)
            return response.status == 200
    except OSError:
        return False


@contextmanager
def running_storage_emulator(log_path: Path, buckets: tuple[str, ...]) -> Iterator[StorageEmulator]:
    """Start the emulator with `buckets` created, wait until it answers, yield it, stop it."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "gcp_storage_emulator",
        "start",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    command += ["--in-memory", "--default-bucket", buckets[0]]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not _ready(endpoint):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the Cloud Storage emulator did not start at {endpoint}: "
                    f"{log_path.read_text(errors='replace')[-2000:]}"
                )
            time.sleep(0.2)
        emulator = StorageEmulator(endpoint)
        fs = emulator.filesystem()
        for bucket in buckets[1:]:
            fs.mkdir(bucket)
        yield emulator
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
