"""One `bench/load` run per commit, one after another on the same machine: what each
optimisation step changed, measured the same way (issue 19).

For each commit: a detached git worktree under `--work`, its own venv (`pip install -e .`),
then this checkout's `bench/load.py` run with that venv's Python, so every step is driven,
seeded and checked by the same harness while the server, its migrations and its code are
the commit's. Rows are printed as a Markdown table with the commit's subject line.

Run: .venv/bin/python bench/steps.py COMMIT [COMMIT ...] [--scenarios spread]
         [--connections 64] [--duration 15] [--workers 2] [--profile] [--out DIR]
         [any other bench/load option, passed on as is: --pool 8 --overflow 0]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*cmd: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("commits", nargs="+")
    parser.add_argument("--scenarios", default="spread")
    parser.add_argument("--connections", default="64")
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--work", default="/tmp/creditdesk-steps")
    parser.add_argument("--out", default=str(ROOT / "bench" / "out" / "steps"))
    args, passed_on = parser.parse_known_args()  # the rest goes to bench/load as is
    work, out = Path(args.work), Path(args.out)
    work.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for commit in args.commits:
        sha = run("git", "-C", str(ROOT), "rev-parse", "--short", commit).strip()
        subject = run("git", "-C", str(ROOT), "log", "-1", "--format=%s", sha).strip()
        tree = work / sha
        if not tree.exists():
            run("git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), sha)
        python = tree / ".venv" / "bin" / "python"
        if not python.exists():
            run(sys.executable, "-m", "venv", str(tree / ".venv"))
            run(str(tree / ".venv" / "bin" / "pip"), "install", "-q", "-e", str(tree))
        # this checkout's py-spy (for --profile) and tools come first on the PATH
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        flags = ["--profile"] if args.profile else []
        report = run(
            str(python), str(ROOT / "bench" / "load.py"), "--scenarios", args.scenarios,
            "--connections", args.connections, "--duration", str(args.duration),
            "--workers", str(args.workers), "--out", str(out / sha), *flags, *passed_on,
            env=env,
        )  # fmt: skip
        for line in report.splitlines():
            if line.startswith("{"):
                rows.append({"commit": sha, "subject": subject, **json.loads(line)})
                print(json.dumps(rows[-1]), flush=True)
    print()
    print("| commit | step | scenario | conns | submissions/s | p99 ms | pgbench tps | ratio | "
          "server CPU ms/req | PostgreSQL CPU ms/req | CPU by package |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        shares = ", ".join(f"{k} {v}" for k, v in list(r.get("cpu_shares", {}).items())[:5])
        print(
            f"| {r['commit']} | {r['subject'][:70]} | {r['scenario']} | {r['connections']} | "
            f"{r['submissions_per_s']} | {r['p99_ms']} | {r['pgbench_tps']:.0f} | {r['ratio']} | "
            f"{r['server_cpu_ms']} | {r['postgres_cpu_ms']} | {shares} |"
        )


if __name__ == "__main__":
    main()
