"""Run lectures at the class scale on base seeds of your choice and report every claim that fails.

    python tools/claims_on_seeds.py --seeds 7,2026 [--lectures L1,L2] [--out claims.json]

The lecture tests run every lecture on base seeds 0 and 1000; a claim must also hold on seeds nobody
tried, and this is how to try them. Each lecture runs once per base seed (``LABKIT_SEED``), two kernels
at a time with one torch thread each, as the tests run them. Printed: per lecture and base seed, the
run time, the number of claims and each claim that did not hold with what it measured. ``--out``
keeps every claim of every run (text, holds, measured, expected, seeds) as JSON. The exit status is 1
when any claim failed or any run raised.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", required=True, help="base seeds, e.g. 7,2026")
    parser.add_argument("--lectures", default=None, help="e.g. L1,L5 (default: all)")
    parser.add_argument("--out", type=Path, default=None, help="a JSON file for every claim of every run")
    args = parser.parse_args(argv)
    try:
        seeds = tuple(int(s) for s in args.seeds.split(","))
    except ValueError:
        parser.error(f"--seeds takes whole numbers separated by commas, not {args.seeds!r}")
    import notebook_runner

    paths = sorted((ROOT / "lectures").glob("L*.ipynb"))
    if args.lectures:
        wanted = {w.strip() for w in args.lectures.split(",")}
        paths = [p for p in paths if p.stem.split("_")[0] in wanted]
        if not paths:
            parser.error(f"no lecture among {sorted(wanted)} in lectures/")
    report, failed = {}, 0
    for path in paths:
        try:
            runs = notebook_runner.run_lecture_on_seeds(path, seeds, keep=False)
        except Exception as err:  # noqa: BLE001 -- reported, the next lecture still runs
            print(f"{path.stem}: the run raised {type(err).__name__}: {str(err)[:300]}", flush=True)
            failed += 1
            continue
        for seed, (_, claims, seconds) in runs.items():
            bad = [c for c in claims if not c["holds"]]
            failed += len(bad)
            print(f"{path.stem} on base seed {seed}: {seconds:.0f} s, {len(claims)} claims, {len(bad)} failed", flush=True)
            for c in bad:
                print(f"   ✗ {c['text']}\n     measured {c['measured']}, expected {c['expected']}, seeds {c['seeds']}")
            report.setdefault(path.stem, {})[seed] = claims
    if args.out:
        args.out.write_text(json.dumps(report, indent=1, default=float))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
