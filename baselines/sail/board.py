"""Fill a results store with every run of the retrieval board, in one process (the suites are generated once):

    python -m harness_baselines.sail.board -o results      # then: harness leaderboard retrieval -o results

Runs ``--task retrieval`` (the four suites) for every shipped SAIL checkpoint (ablations.SHIPPED: each row with its
training seeds, which the board pools into one row with a seed-aware CI), the full model's Matryoshka slices
(``dim=16, 32, 64``, every seed) and the reference models (MiniLM text encoder, bag of words, random). The same runs
one by one: ``harness eval --task retrieval --model sail --model_args ablation=ROW,train_seed=K[,dim=D]``.
"""

from __future__ import annotations

import argparse

from harness_baselines.sail.ablations import SHIPPED

REFERENCES = [
    ("hf-text", "path=sentence-transformers/all-MiniLM-L6-v2"),
    ("bow", ""),
    ("random-embed", ""),
]
SLICES = (16, 32, 64)


def runs() -> list[tuple[str, str]]:
    """(model, model_args) of every board run."""
    out = [("sail", f"ablation={row},train_seed={seed}") for seed, rows in SHIPPED.items() for row in rows]
    out += [("sail", f"ablation=full,train_seed={seed},dim={d}") for d in SLICES for seed in SHIPPED]
    return out + REFERENCES


def main() -> None:
    import harness

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", default="results")
    ap.add_argument("--only", default="", help="comma list of model_args substrings: run only matching SAIL runs")
    args = ap.parse_args()
    todo = runs()
    if args.only:
        todo = [r for r in todo if any(s in r[1] for s in args.only.split(","))]
    for i, (model, model_args) in enumerate(todo, 1):
        print(f"[{i}/{len(todo)}] {model} {model_args}", flush=True)
        harness.evaluate("retrieval", model, model_args or None, output=args.output, progress=False)


if __name__ == "__main__":
    main()
