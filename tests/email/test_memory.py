"""Peak memory of parsing the worst mails (issue 12): each is parsed in a fresh Python
process whose peak resident set (VmHWM in /proc/self/status) must stay under
PEAK_BOUND_MIB. The process also has an address-space cap, so a regression fails with a
MemoryError instead of taking the machine down."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PEAK_BOUND_MIB = 100

SCRIPT = r"""
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1536 * 2**20, 1536 * 2**20))
from app.email.parsing import MailLimits, parse
from tests.email.bombs import deep_multipart, encoded_subject, many_headers

kind, size = sys.argv[1], int(sys.argv[2])
raw = {"encoded": encoded_subject, "deep": deep_multipart, "headers": many_headers}[kind](size)
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
before = hwm()
mail = parse(raw, limits=MailLimits())
print(json.dumps({"before": before, "peak": hwm(), "bytes": len(raw), "refusal": mail.refusal}))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize(
    ("kind", "size"),
    [("encoded", 20_000), ("encoded", 60_000), ("deep", 3_000), ("headers", 100_000)],
)
def test_peak_memory_of_the_worst_mail_stays_bounded(kind: str, size: int) -> None:
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, kind, str(size)],
        cwd=root, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["refusal"], figures
    assert figures["peak"] < PEAK_BOUND_MIB, figures
