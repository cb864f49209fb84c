"""axe-core in the browser tests: the copy shipped inside the PyPI package
axe-playwright-python (in the test extra), run on a Playwright page as it is now."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def serious_violations(page: Any, record: Path) -> list[str]:
    """axe-core's serious and critical violations on `page`, one line each; all its findings
    are written to `record` (JSON) for a look afterwards."""
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    record.write_text(json.dumps(violations, indent=1))
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:5]}"
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]
