"""Small-scale UniFusion training on 2 CPU cores, deterministic from seeds. One command retrains everything shipped:

    python -m harness_baselines.unifusion.train all --out baselines/unifusion/checkpoints

(a) the frozen tiny VLM (train_vlm.py), unless ``<out>/vlm`` already holds a trained one (``--retrain_vlm``);
(b) its features of every training example, once (features.py);
(c) the generator ladder ``SHIPPED``: every conditioning variant in the ``zero-shot`` regime, each fine-tuned into
    the ``edit-ft`` regime, and two more edit-ft training seeds of ``lap`` and ``last_layer``.
A finished generator (its ``training.json`` matches the run) is skipped and a killed one resumes from its last
saved step, so the command can simply be started again. Checkpoints: ``<out>/<regime>/<variant>`` (training seed
1) and ``<out>/<regime>/<variant>-seed<s>``.

``--only zero-shot/lap,edit-ft/lap-seed2`` trains a part of the ladder (in ladder order: an edit-ft run needs its
zero-shot checkpoint). ``train vlm --out DIR`` trains the VLM alone.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import time
from dataclasses import dataclass
from pathlib import Path

from harness_baselines.unifusion.conditioning import VARIANTS

REGIMES = ("zero-shot", "edit-ft")
SEED_VARIANTS = ("lap", "last_layer")  # the key comparison, trained with 3 seeds in edit-ft
EXTRA_SEEDS = (2, 3)


def checkpoint_dir(root: Path, regime: str, variant: str, seed: int = 1) -> Path:
    """Where a generator lives (the adapter reads the same place)."""
    return Path(root) / regime / (variant if seed == 1 else f"{variant}-seed{seed}")


@dataclass(frozen=True)
class Run:
    variant: str
    regime: str
    seed: int = 1
    init_seed: int | None = None  # edit-ft: the zero-shot seed it starts from


def shipped_runs() -> list[Run]:
    """Per variant its zero-shot run, then its edit-ft run (and, for lap and last_layer, edit-ft seeds 2 and 3);
    the key comparison (lap, last_layer) first, so its checkpoints can be evaluated while the rest trains.

    Every run is deterministic from its own seed and init, so the order changes no weight. The extra seeds
    fine-tune from the seed-1 zero-shot checkpoint: their spread is that of the fine-tuning stage (initialisation
    of the new stage, batch draws, noise), which keeps the ladder inside the CPU budget."""
    order = [*SEED_VARIANTS, *(v for v in VARIANTS if v not in SEED_VARIANTS)]
    runs = []
    for v in order:
        runs += [Run(v, "zero-shot"), Run(v, "edit-ft", 1, 1)]
        runs += [Run(v, "edit-ft", s, 1) for s in (EXTRA_SEEDS if v in SEED_VARIANTS else ())]
    return runs


def folder_hash(path: Path) -> str:
    """sha256 of a checkpoint folder's files except ``training.json`` (metadata: notes and reports may be added
    to it without making every run that depends on the weights stale)."""
    h = hashlib.sha256()
    for f in sorted(p for p in Path(path).rglob("*") if p.is_file() and p.name != "training.json"):
        h.update(f.relative_to(path).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


def run_key(vlm_hash: str, run: Run, args, init: Path | None) -> str:
    """What a finished run's ``training.json`` must match to be skipped: the VLM, the run, every setting."""
    steps = args.zero_shot_steps if run.regime == "zero-shot" else args.edit_ft_steps
    lr = args.lr if run.regime == "zero-shot" else args.edit_ft_lr
    settings = [args.batch_size, args.recon_share, args.edit_share, args.n_scenes, args.n_edits_per_type]
    blob = [vlm_hash, run.__dict__, steps, lr, *settings, args.threads, args.lap_stride]
    if args.t_sampling != "uniform":  # keyed only when set, so runs trained before the option stay valid
        blob.append(args.t_sampling)
    return hashlib.sha256(json.dumps([*blob, folder_hash(init) if init else None]).encode()).hexdigest()[:16]


def weights_id(hub_id: str) -> str:
    from harness.adapters import weights_id as hub_weights_id

    return hub_weights_id(hub_id)


def run_name(run: Run) -> str:
    return f"{run.regime}/{run.variant}" + ("" if run.seed == 1 else f"-seed{run.seed}")


def feature_source(variant: str) -> str:
    """Which frozen-VLM features a variant trains on (features.py): VERIFI the rewrite's, the others the prompt's."""
    return "rewrite" if variant == "verifi" else "prompt"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def train_all(out: Path, work: Path, args) -> dict:
    import torch

    from harness_baselines.unifusion.encoder import VLMEncoder
    from harness_baselines.unifusion.features import encode_pool, shared_layers
    from harness_baselines.unifusion.generator import UniFusionTransformer
    from harness_baselines.unifusion.train_generator import Recipe, train_generator
    from harness_baselines.unifusion.training_data import build_pools

    torch.set_num_threads(args.threads)
    cpu0, wall0 = cpu_seconds(), time.time()
    vlm = args.vlm or out / "vlm"  # another VLM (a folder or a cached hub id) is used as it is, never trained
    if not args.vlm and (args.retrain_vlm or not (vlm / "training.json").is_file()):
        from harness_baselines.unifusion.train_vlm import train_vlm

        train_vlm(vlm, seed=args.seed, threads=args.threads)
    vlm_hash = (
        folder_hash(vlm) if Path(vlm).is_dir() else hashlib.sha256(weights_id(str(vlm)).encode()).hexdigest()[:16]
    )
    encoder = VLMEncoder.from_pretrained(str(vlm))
    probe = UniFusionTransformer(vlm_hidden_size=encoder.hidden_size, vlm_num_hidden_states=encoder.num_hidden_states)
    layers = shared_layers(encoder.num_hidden_states, probe.config.num_layers, args.lap_stride)
    encoder = VLMEncoder(encoder.model, encoder.processor, layers=layers, name=str(vlm))
    pools = build_pools(args.n_scenes, args.n_edits_per_type)
    cells = probe.patch_embed.pos_embed.shape[1]  # the generator's patch grid (features.encode_pool)
    only = set(args.only.split(",")) if args.only else None
    runs = [run for run in shipped_runs() if only is None or run_name(run) in only]
    # Only the feature sources the selected runs read (VERIFI reads the rewrite's states, every other variant
    # the prompt's): a part of the ladder does not pay for the other source.
    sources = sorted({feature_source(run.variant) for run in runs})
    feats = {src: {n: encode_pool(encoder, p, src, work, vlm_hash, cells) for n, p in pools.items()} for src in sources}
    feature_cpu = cpu_seconds() - cpu0
    vlm_shape = {"hidden_size": encoder.hidden_size, "num_hidden_states": encoder.num_hidden_states}
    done = []
    for run in runs:
        steps = args.zero_shot_steps if run.regime == "zero-shot" else args.edit_ft_steps
        lr = args.lr if run.regime == "zero-shot" else args.edit_ft_lr
        target = checkpoint_dir(out, run.regime, run.variant, run.seed)
        init = None if run.init_seed is None else checkpoint_dir(out, "zero-shot", run.variant, run.init_seed)
        key = run_key(vlm_hash, run, args, init)
        info = target / "training.json"
        if info.is_file() and json.loads(info.read_text()).get("ladder_key") == key:
            done.append(json.loads(info.read_text()))
            continue
        source = feature_source(run.variant)
        recipe = Recipe(steps, args.batch_size, lr, args.recon_share, args.edit_share, args.lap_stride, args.t_sampling)
        summary = train_generator(
            target,
            run.variant,
            run.regime,
            feats[source],
            pools,
            vlm_shape,
            recipe,
            seed=run.seed,
            init=init,
            state_path=work / f"state-{run_name(run).replace('/', '-')}-{key}.pt",
            save_every=args.save_every,
            extra={"ladder_key": key, "vlm": str(vlm), "vlm_hash": vlm_hash, "feature_source": source},
        )
        done.append(summary)
    ladder = {
        "runs": [{k: s[k] for k in ("variant", "regime", "seed", "steps", "final_loss", "cpu_seconds")} for s in done],
        "feature_cpu_seconds_this_process": round(feature_cpu, 1),
        "cpu_seconds_this_process": round(cpu_seconds() - cpu0, 1),
        "wall_seconds_this_process": round(time.time() - wall0, 1),
    }
    (out / "ladder.json").write_text(json.dumps(ladder, indent=2) + "\n")
    return ladder


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m harness_baselines.unifusion.train",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="stage", required=True)
    vlm = sub.add_parser("vlm", help="train the tiny VLM on rendered scenes")
    vlm.add_argument("--out", type=Path, required=True)
    vlm.add_argument("--seed", type=int, default=1)
    vlm.add_argument("--steps", type=int, default=1000)
    vlm.add_argument("--batch_size", type=int, default=24)
    vlm.add_argument("--threads", type=int, default=1)
    vlm.add_argument("--eval_every", type=int, default=0, help="print a small held-out report every N steps")
    vlm.add_argument("--stop_after", type=int, default=None, help="stop after N steps (resume: run again)")
    vlm.add_argument("--lr", type=float, default=2e-3)
    vlm.add_argument("--heldout_scenes", type=int, default=512, help="size of the held-out report (seed 1001)")
    vlm.add_argument("--init", type=Path, default=None, help="continue from this saved tiny VLM's weights")
    vlm.add_argument("--schedule", default="", help="batch kinds cycled over steps, e.g. short (probes only)")
    every = sub.add_parser("all", help="retrain every shipped checkpoint (VLM if missing, features, generators)")
    every.add_argument("--out", type=Path, required=True)
    every.add_argument("--work", type=Path, default=Path("/tmp/unifusion-work"), help="features and resume states")
    every.add_argument("--retrain_vlm", action="store_true")
    every.add_argument("--vlm", default="", help="train the generators for this VLM (folder or cached hub id)")
    every.add_argument("--seed", type=int, default=1, help="VLM seed (generator seeds: see SHIPPED)")
    every.add_argument("--zero_shot_steps", type=int, default=3000)
    every.add_argument("--edit_ft_steps", type=int, default=1500)
    every.add_argument("--batch_size", type=int, default=8)
    every.add_argument("--lr", type=float, default=1e-3)
    every.add_argument("--edit_ft_lr", type=float, default=5e-4)
    every.add_argument("--recon_share", type=float, default=0.5, help="paper: ~0.03; see README")
    every.add_argument("--edit_share", type=float, default=0.75)
    every.add_argument("--n_scenes", type=int, default=1000)
    every.add_argument("--n_edits_per_type", type=int, default=200)
    every.add_argument("--lap_stride", type=int, default=3)
    every.add_argument(
        "--t_sampling", default="uniform", choices=("uniform", "logit_normal"), help="noise levels drawn in training"
    )
    every.add_argument("--threads", type=int, default=1)
    every.add_argument("--save_every", type=int, default=100, help="steps between resume states")
    every.add_argument("--only", default="", help="comma-separated runs, e.g. zero-shot/lap,edit-ft/lap-seed2")
    args = parser.parse_args(argv)
    if args.stage == "vlm":
        from harness_baselines.unifusion.train_vlm import train_vlm

        extra = {"eval_every": args.eval_every} if args.eval_every else {}
        extra |= {"stop_after": args.stop_after} if args.stop_after is not None else {}
        extra |= {"init": args.init} if args.init else {}
        extra |= {"schedule": tuple(args.schedule.split(","))} if args.schedule else {}
        summary = train_vlm(
            args.out,
            seed=args.seed,
            steps=args.steps,
            batch_size=args.batch_size,
            lr=args.lr,
            threads=args.threads,
            heldout_scenes=args.heldout_scenes,
            **extra,
        )
    else:
        summary = train_all(args.out, args.work, args)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
