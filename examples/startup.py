"""Start-up time of the commands that read no data: the median wall time of repeated runs.

    python examples/startup.py            # 15 runs of each command
    python examples/startup.py --runs 30

Each command runs as a fresh process, as a user starts it, after one unmeasured warm-up run (so
the byte-code caches are written and the files are in the page cache). The median is printed
with the fastest and slowest run; ``python -c pass`` is the floor every command pays.
``python -X importtime -c "import slaengine.cli"`` shows what a command imports and at what cost.
"""

from __future__ import annotations

import argparse
import os
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
    "slaengine validate": ["validate", str(CONTRACT)],
    "slaengine plugins": ["plugins"],
    "slaengine metrics": ["metrics"],
    "slaengine metrics csat": ["metrics", "csat"],
    "slaengine schema contract": ["schema", "contract"],
}


def timed(argv: list[str], runs: int) -> list[float]:
    """Wall times in seconds of ``runs`` runs of ``argv`` after one warm-up run."""
    if argv[0] != sys.executable:
        argv = [sys.executable, "-c", "from slaengine.cli import main; main()", *argv]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    times = []
    for i in range(runs + 1):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env, cwd=ROOT)
        if i:
            times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    print(f"{'command':28} {'median':>8} {'min':>8} {'max':>8}")
    for name, argv in COMMANDS.items():
        times = timed(argv, args.runs)
        print(f"{name:28} {statistics.median(times):8.3f} {min(times):8.3f} {max(times):8.3f}")


if __name__ == "__main__":
    main()
