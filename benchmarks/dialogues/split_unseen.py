"""Split the blind-written "unseen" evaluation set into a tuning half and a test half.

Run once:  python benchmarks/dialogues/split_unseen.py [INPUT]

- INPUT (default /tmp/unseen_all.jsonl): the full set, one eval dialogue per line;
  ids q### are single questions, c## are multi-turn conversations.
- Seed: random.Random(20261204).  Single questions and conversations are shuffled
  and split separately, half/half; with an odd count the extra one goes to test.
- Outputs: benchmarks/dialogues/unseen_tune.jsonl and benchmarks/dialogues/unseen_test.jsonl
  (each written in original id order).

See UNSEEN.md.  The test half is to be looked at once, at the end.
"""
import json
import random
import sys
from pathlib import Path

SEED = 20261204
HERE = Path(__file__).resolve().parent
INPUT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/unseen_all.jsonl")
TUNE = HERE / "unseen_tune.jsonl"
TEST = HERE / "unseen_test.jsonl"


def main():
    rows = [json.loads(line) for line in INPUT.read_text(encoding="utf-8").splitlines() if line.strip()]
    singles = [r for r in rows if r["id"].startswith("q")]
    convs = [r for r in rows if r["id"].startswith("c")]
    assert len(singles) + len(convs) == len(rows)
    rng = random.Random(SEED)
    tune, test = [], []
    for group in (singles, convs):
        group = list(group)
        rng.shuffle(group)
        half = len(group) // 2  # odd count: the extra one goes to test
        tune += group[:half]
        test += group[half:]
    order = {r["id"]: i for i, r in enumerate(rows)}
    for path, part in ((TUNE, tune), (TEST, test)):
        part.sort(key=lambda r: order[r["id"]])
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in part), encoding="utf-8")
        print(path, len(part))


if __name__ == "__main__":
    main()
