"""Run every benchmark (quick unless --full) and save each one's output.

Run: `.venv/bin/python benchmarks/run_all.py [--full] [--out DIR]` (or `make bench`).
Results are printed and saved as markdown under `data/bench/` (git-ignored);
copy the tables into docs/performance.md by hand when they should be published.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = (
    "store_bench.py",
    "compare_langgraph.py",
    "scale_bench.py",
    "write_scale_bench.py",
)


def run(script: Path, args: list[str], out: Path) -> int:
    """Run one benchmark, print its tables and save them as `{out}/{name}.md`."""
    cmd = [sys.executable, str(script), *args]
    print(f"\n## {script.name} {' '.join(args)}\n", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    print(proc.stdout, end="")
    if proc.stderr:
        print(proc.stderr, end="", file=sys.stderr)
    md = out / f"{script.stem}.md"
    md.write_text(proc.stdout)
    print(f"\n({time.perf_counter() - t0:.0f} s, exit {proc.returncode}; saved to {md})")
    return proc.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--full", action="store_true", help="full runs (several minutes)")
    parser.add_argument("--out", default="data/bench", help="where to save results")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    mode = [] if args.full else ["--quick"]
    codes = {}
    for name in SCRIPTS:
        script = HERE / name
        if not script.exists():
            print(f"\n({name} not found, skipped)")
            continue
        codes[name] = run(script, mode, out)
    print("\nResults saved under", out.resolve())
    print("Published figures: docs/performance.md (update it by hand from these files).")
    for name, code in codes.items():
        print(f"  {name}: {'all targets met' if code == 0 else 'some target missed or failed'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
