"""Start-up time of the commands that read no data: the median wall time of repeated runs.

    python examples/startup.py            # 15 runs of each command
    python examples/startup.py --runs 30

Each command runs as a fresh process, as a user starts it, after one unmeasured warm-up run (so
the byte-code caches are written and the files are in the page cache). The median is printed
with the fastest and slowest run, and the median processor time (user + system), which a busy
machine disturbs less than the wall time; ``python -c pass`` is the floor every command pays.
The last column names the heavy libraries the command imported (none is wanted: these commands
read no data, so numpy, pyarrow and jinja2 have nothing to do).

``python -X importtime -m slaengine.cli validate contracts/isp-helpdesk.toml 2>&1 | sort -t'|'
-k2 -n | tail -30`` shows what a command imports and at what cost. A contract naming country
holidays (``isp-helpdesk``) pays for the ``holidays`` package, which checks the country.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = ROOT / "contracts" / "isp-helpdesk.toml"

COMMANDS: dict[str, list[str]] = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "slaengine --help": ["--help"],
    "slaengine -V": ["-V"],
    "slaengine validate": ["validate", str(CONTRACT)],
    "slaengine validate (no holidays)": ["validate",
                                         str(ROOT / "contracts" / "ecommerce-email.toml")],
    "slaengine plugins": ["plugins"],
    "slaengine plugins csv": ["plugins", "csv"],
    "slaengine metrics": ["metrics"],
    "slaengine metrics csat": ["metrics", "csat"],
    "slaengine schema contract": ["schema", "contract"],
}

HEAVY = ("numpy", "pyarrow", "jinja2", "rich", "holidays")

# Runs the command in-process, then lists the top-level modules imported (on stderr, last).
PROBE = """
import json, sys
from slaengine.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print("\\n" + json.dumps(sorted({m.split(".")[0] for m in sys.modules})), file=sys.stderr)
"""


def timed(argv: list[str], runs: int) -> tuple[list[float], list[float]]:
    """Wall and processor times in seconds of ``runs`` runs of ``argv`` after one warm-up."""
    if argv[0] != sys.executable:
        argv = [sys.executable, "-c", "from slaengine.cli import main; main()", *argv]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    walls, cpus = [], []
    for i in range(runs + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env, cwd=ROOT)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if i:
            walls.append(wall)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return walls, cpus


def imported(argv: list[str]) -> str:
    """The heavy libraries the command imports, as a short list ("-" for none)."""
    if argv[0] == sys.executable:
        return ""
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True,
                          text=True, cwd=ROOT, check=True)
    modules = set(json.loads(done.stderr.strip().splitlines()[-1]))
    return ", ".join(m for m in HEAVY if m in modules) or "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    print(f"{'command':34} {'median':>7} {'min':>7} {'max':>7} {'cpu':>7}  imports")
    for name, argv in COMMANDS.items():
        walls, cpus = timed(argv, args.runs)
        print(f"{name:34} {statistics.median(walls):7.3f} {min(walls):7.3f} "
              f"{max(walls):7.3f} {statistics.median(cpus):7.3f}  {imported(argv)}")


if __name__ == "__main__":
    main()
