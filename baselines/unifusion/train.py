"""Small-scale UniFusion training on 2 CPU cores, deterministic from a seed.

    python -m harness_baselines.unifusion.train vlm --out baselines/unifusion/checkpoints/vlm
    python -m harness_baselines.unifusion.train generator --variant lap --vlm baselines/unifusion/checkpoints/vlm \\
        --out baselines/unifusion/checkpoints/lap

(a) ``vlm``: pretrain the tiny LLaVA on scene captions / QA (train_vlm.py), then it is frozen for good.
(b) ``generator``: train one generator per conditioning variant on text-to-image and reconstruction from
    (image, caption) pairs only (train_generator.py) -- never on edit pairs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m harness_baselines.unifusion.train",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="stage", required=True)
    vlm = sub.add_parser("vlm", help="pretrain the tiny VLM on rendered scenes")
    vlm.add_argument("--out", type=Path, required=True)
    vlm.add_argument("--seed", type=int, default=1)
    vlm.add_argument("--steps", type=int, default=1200)
    vlm.add_argument("--batch_size", type=int, default=32)
    vlm.add_argument("--threads", type=int, default=2)
    gen = sub.add_parser("generator", help="train one conditioning variant's generator")
    gen.add_argument("--variant", required=True, choices=["last_layer", "kv_fusion", "injection", "lap"])
    gen.add_argument("--vlm", type=Path, required=True)
    gen.add_argument("--out", type=Path, required=True)
    gen.add_argument("--seed", type=int, default=1)
    gen.add_argument("--steps", type=int, default=2500)
    gen.add_argument("--batch_size", type=int, default=16)
    gen.add_argument("--lap_stride", type=int, default=3)
    gen.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    if args.stage == "vlm":
        from harness_baselines.unifusion.train_vlm import train_vlm

        summary = train_vlm(
            args.out, seed=args.seed, steps=args.steps, batch_size=args.batch_size, threads=args.threads
        )
    else:
        from harness_baselines.unifusion.train_generator import train_generator

        summary = train_generator(
            args.out,
            variant=args.variant,
            vlm=args.vlm,
            seed=args.seed,
            steps=args.steps,
            batch_size=args.batch_size,
            lap_stride=args.lap_stride,
            threads=args.threads,
        )
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
