"""Policy matching speed: ``python benchmarks/bench_matching.py [--enterprises N] [--policies M] [--json]``,
the same measurement as ``rongyiban bench-matching`` (see ``policy_graph/benchmark.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["bench-matching", *sys.argv[1:]]))
