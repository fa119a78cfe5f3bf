#!/usr/bin/env python
"""Benchmark: the ISP example contract against the nine-level benchmark contract, on the same
generated Parquet tickets.

Not a test (nothing here asserts a time). From a fresh clone::

    pip install -e ".[bench]" && python examples/bench_isp.py --rows 10000000 --repeat 3

``contracts/isp-helpdesk-parquet.toml`` (16 service levels: business hours, an agreed exclusion,
period-level metrics, an at-risk pool) and ``examples/benchmark/reference.toml`` (nine levels,
24x7) read the same file (``examples/benchmark.py``'s reference variant: made once in
``--data-dir``, then reused). Each run is a fresh Python process, the two contracts alternate
round by round, and the wall time is taken as the benchmark takes slaengine's: loading the
contract, evaluating it and writing its JSON report (imports and the plugin registry
excluded). Printed: every run, the best and the median of each, and the ratio ISP / nine
levels best against best and round by round (the goal: within 2x).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import benchmark  # noqa: E402  (examples/benchmark.py: the data and the reference contract)

ISP = HERE.parent / "contracts" / "isp-helpdesk-parquet.toml"

CHILD = r"""
import json, resource, sys, time
import numpy, pyarrow, pyarrow.compute, pyarrow.parquet  # imports outside the timing
import slaengine.contract, slaengine.engine
from slaengine.contract import load_contract
from slaengine.engine import evaluate, tuned
from slaengine.outputs import atomic_file
from slaengine.pluginmanager import build_registry

registry = build_registry()
started = time.perf_counter()
with tuned():
    evaluation = evaluate(load_contract(sys.argv[1], registry), registry)
    with atomic_file(sys.argv[2]) as stream:
        registry.reporters["json"].write(evaluation, stream)
wall = time.perf_counter() - started
print(json.dumps({"wall": wall, "verdicts": len(evaluation.verdicts),
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def isp_copy(data: Path, folder: Path) -> Path:
    """The ISP contract reading ``data`` (its calendars, levels and credits unchanged)."""
    import tomli_w

    document = tomllib.loads(ISP.read_text(encoding="utf-8"))
    document["sources"]["tickets"]["path"] = str(data)
    out = folder / "isp.toml"
    out.write_text(tomli_w.dumps(document), encoding="utf-8")
    return out


def run(contract: Path, report: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, str(contract), str(report)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data-dir", type=Path,
                        default=Path(tempfile.gettempdir()) / "slaengine-bench")
    args = parser.parse_args(argv)
    variant = benchmark.VARIANTS["reference"]
    data = benchmark.data_file(args.data_dir, args.rows, "parquet", variant)
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        contracts = {"nine": benchmark.contract_copy(data, "parquet", variant, folder),
                     "isp": isp_copy(data, folder)}
        runs: dict[str, list[dict]] = {name: [] for name in contracts}
        for round_ in range(1, args.repeat + 1):
            for name, contract in contracts.items():
                found = run(contract, folder / f"{name}.json")
                runs[name].append(found)
                print(f"round {round_}  {name:4}  {found['wall']:6.2f} s  "
                      f"{found['peak_mib']:6.0f} MiB  {found['verdicts']} verdicts", flush=True)
    for name, found in runs.items():
        walls = [r["wall"] for r in found]
        print(f"{name:4}  best {min(walls):.2f} s  median {statistics.median(walls):.2f} s")
    best = min(r["wall"] for r in runs["isp"]) / min(r["wall"] for r in runs["nine"])
    rounds = [i["wall"] / n["wall"] for n, i in zip(runs["nine"], runs["isp"], strict=True)]
    print(f"ISP / nine levels: {best:.2f}x best against best, round by round "
          f"{', '.join(f'{r:.2f}x' for r in rounds)} (goal: within 2x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
