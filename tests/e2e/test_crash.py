"""The S3 crash test (`scripts/crash-test-s3`), short: SIGKILLs during concurrent PUTs (single and
multipart, so large blobs are being written on their own threads) and DELETEs, then every
acknowledged write reads back, nothing half-applied is visible and the audit trail verifies.
"""
import os
import subprocess
import sys

from conftest import BIN

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "crash-test-s3")


def test_sigkill_during_puts_and_deletes_loses_nothing_acknowledged():
    run = subprocess.run(
        [sys.executable, SCRIPT, "--rounds", "3", "--workers", "4", "--bin", BIN],
        capture_output=True, text=True, timeout=600,
    )
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    assert "every object intact" in out, out
    assert " 0 problems" in out, out
