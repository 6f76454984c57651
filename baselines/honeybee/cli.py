"""``harness recipe ...``: build, train and evaluate HoneyBee-style data recipes (plugged into the harness CLI
through the ``harness.commands`` entry point). Imports nothing heavy at module level: ``harness --help`` stays fast.

NAME is a recipe under baselines/honeybee/recipes/ (or a path to a recipe YAML); ``all`` means every shipped
recipe, in an order where curation recipes come after the recipes they rank.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import typer

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="HoneyBee-style CoT data recipes: build a dataset, train a proxy VLM, evaluate it.",
)

CacheOpt = typer.Option(
    None,
    "--cache-dir",
    help="Datasets and checkpoints (default: ~/.cache/harness/honeybee, $XDG_CACHE_HOME respected).",
)
BaseOpt = typer.Option(
    None,
    "--base",
    help="Pretrained base to fine-tune (default: the committed checkpoints/proxy-base.safetensors; "
    "another from `harness recipe pretrain -o FILE`).",
)
OutputOpt = typer.Option(Path("results"), "--output", "-o", help="Results folder (JSON files + SQLite store).")
EVAL_TASKS = "reasoning"
EVAL_BATCH = 128  # the proxy decodes a batch in one K/V-cached pass: larger batches are much cheaper per question


def _cache(cache_dir: Path | None) -> Path:
    from harness_baselines.honeybee.adapter import DEFAULT_CACHE

    return Path(cache_dir) if cache_dir else DEFAULT_CACHE


def _recipes(names: list[str]):
    from harness_baselines.honeybee.recipe import all_recipes, load_recipe

    if names == ["all"]:
        recipes = [load_recipe(n) for n in all_recipes()]
        return sorted(recipes, key=lambda r: r.curation is not None)  # rank before curating
    return [load_recipe(n) for n in names]


def _log_timing(cache: Path, recipe: str, step: str, seconds: float) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / "timings.jsonl", "a") as f:
        f.write(json.dumps({"recipe": recipe, "step": step, "seconds": round(seconds, 1), "at": time.time()}) + "\n")


@app.command("list")
def list_() -> None:
    """Shipped recipes with their stage and description."""
    from tabulate import tabulate

    print(
        tabulate(
            [(r.name, r.stage, r.description) for r in _recipes(["all"])], headers=["recipe", "stage", "description"]
        )
    )


@app.command()
def build(
    names: list[str] = typer.Argument(..., help="Recipe name(s), a recipe YAML path, or 'all'."),
    cache_dir: Path = CacheOpt,
    output: Path = OutputOpt,
) -> None:
    """Materialize each recipe's CoT dataset (JSONL shards + PNGs, content-hashed) and print its manifest."""
    from harness.api import STORE_NAME
    from harness_baselines.honeybee.build import build as build_recipe

    cache = _cache(cache_dir)
    for recipe in _recipes(names):
        t0 = time.time()
        path, manifest = build_recipe(recipe, cache, output / STORE_NAME)
        _log_timing(cache, recipe.name, "build", time.time() - t0)
        stages = " · ".join(f"{k.split('_', 1)[1]}={v}" for k, v in manifest["stages"].items())
        print(
            f"{recipe.name}: {manifest['rows']} rows, {manifest['images']} images, hash "
            f"{manifest['content_hash'][:12]} · {stages} · {time.time() - t0:.1f}s · {path}"
        )


@app.command()
def pretrain(
    cache_dir: Path = CacheOpt,
    output: Path = typer.Option(
        None, "--output", "-o", help="Where to write the base checkpoint (default: the committed one)."
    ),
    steps: int = typer.Option(2000, "--steps", min=1, help="Optimizer steps (the committed base: the default)."),
    images: int = typer.Option(12000, "--images", min=1, help="Decontaminated pretraining images."),
    layers: int = typer.Option(2, "--layers", min=1, help="Decoder layers (recipes fine-tuning the base inherit it)."),
    d: int = typer.Option(96, "--d", min=8, help="Decoder width (a multiple of the 4 attention heads)."),
    mix: str = typer.Option(
        "answers",
        "--mix",
        help="answers (the committed base: + generic questions answered in \\boxed{}, pretrain_qa.py) or describe "
        "(descriptions, reading and arithmetic only: the base before 2026-12-01, session 5).",
    ),
    image_px: int = typer.Option(
        48, "--image_px", help="Image encoder input side in pixels, a multiple of 8 (recipes inherit it)."
    ),
    cnn_width: int = typer.Option(32, "--cnn_width", help="Channels of the encoder's first convolution (x2 next)."),
    restyle: bool = typer.Option(
        False,
        "--restyle/--no-restyle",
        help="Redraw images that match an eval image at another scale and position instead of dropping them.",
    ),
) -> None:
    """Pretrain the proxy's base model (perception descriptions + arithmetic; pretrain.py), which every recipe
    fine-tunes (train.init: base). Deterministic: rebuilds the committed checkpoint bit for bit."""
    from harness_baselines.honeybee.pretrain import BASE_CHECKPOINT
    from harness_baselines.honeybee.pretrain import pretrain as run_pretrain

    summary = run_pretrain(
        _cache(cache_dir),
        Path(output) if output else BASE_CHECKPOINT,
        steps=steps,
        n_images=images,
        log=lambda m: print(m, file=sys.stderr),
        layers=layers,
        d=d,
        mix=mix,
        image_px=image_px,
        cnn_width=cnn_width,
        restyle=restyle,
    )
    print(
        f"base ({layers} layers, d = {d}, {image_px} px, CNN {cnn_width}, mix {mix}"
        f"{', restyled images' if restyle else ''}): "
        f"loss {summary['final_loss']:.3f} after {summary['steps']} steps · {summary['seconds']}s wall, "
        f"{summary['cpu_seconds']}s CPU · {summary['checkpoint']}"
    )


@app.command()
def train(
    names: list[str] = typer.Argument(..., help="Recipe name(s), a recipe YAML path, or 'all'."),
    cache_dir: Path = CacheOpt,
    steps: int = typer.Option(None, "--steps", min=1, help="Override the recipe's training steps."),
    force: bool = typer.Option(False, "--force", help="Retrain even if an up-to-date checkpoint exists."),
    seeds: int = typer.Option(
        1,
        "--seeds",
        min=1,
        help="Train with training seeds 0..N-1 (3 for the shipped board): each seed is "
        "its own checkpoint, pooled on leaderboards.",
    ),
    base: Path = BaseOpt,
) -> None:
    """Train the proxy VLM on each recipe's newest build; writes <cache>/checkpoints/NAME.safetensors (seed 0) and
    NAME-seedK.safetensors."""
    from harness_baselines.honeybee.train import train as train_recipe

    cache = _cache(cache_dir)
    for recipe in _recipes(names):
        for train_seed in range(seeds):
            tag = recipe.name + (f" (train_seed={train_seed})" if train_seed else "")

            def log(message, tag=tag):
                print(f"{tag}: {message}", file=sys.stderr)

            summary = train_recipe(recipe, cache, steps, log=log, force=force, train_seed=train_seed, base=base)
            if summary.get("cached"):
                print(f"{tag}: checkpoint up to date ({summary['sha256'][:16]}), not retrained")
                continue
            _log_timing(cache, recipe.name, "train", summary["seconds"])
            print(
                f"{tag}: loss {summary['first_loss']:.3f} -> {summary['final_loss']:.3f} in "
                f"{summary['steps']} steps · {summary['seconds']}s · {summary['checkpoint']} "
                f"({summary['sha256'][:16]})"
            )


@app.command("eval")
def eval_(
    names: list[str] = typer.Argument(..., help="Recipe name(s), a recipe YAML path, or 'all'."),
    cache_dir: Path = CacheOpt,
    output: Path = OutputOpt,
    task: str = typer.Option(EVAL_TASKS, "--task", "-t", help="Task or group to score the proxy on."),
    batch_size: int = typer.Option(EVAL_BATCH, "--batch_size", "--batch-size", min=1),
    seeds: int = typer.Option(1, "--seeds", min=1, help="Score training seeds 0..N-1."),
) -> None:
    """Score each recipe's proxy (``honeybee-proxy --model_args recipe=NAME[,train_seed=K]``) through the normal
    runner/store."""
    from harness.api import evaluate_model

    cache = _cache(cache_dir)
    for recipe in _recipes(names):
        for train_seed in range(seeds):
            args = (
                f"recipe={recipe.name}"
                + (f",cache_dir={cache}" if cache_dir else "")
                + (f",train_seed={train_seed}" if train_seed else "")
            )
            t0 = time.time()
            for result in evaluate_model(task, "honeybee-proxy", args, batch_size=batch_size, output=output):
                agg = result.aggregates[""]["accuracy"]
                print(
                    f"{recipe.name}{f' (train_seed={train_seed})' if train_seed else ''}: {result.spec.task} "
                    f"accuracy {agg.mean:.2f} [{agg.ci_low:.2f}, {agg.ci_high:.2f}] n={agg.n} · "
                    f"{len(result.failures)} failed · run {result.spec.run_id()}"
                )
            _log_timing(cache, recipe.name, "eval", time.time() - t0)


@app.command()
def run(
    names: list[str] = typer.Argument(..., help="Recipe name(s), a recipe YAML path, or 'all'."),
    cache_dir: Path = CacheOpt,
    output: Path = OutputOpt,
    seeds: int = typer.Option(3, "--seeds", min=1, help="Training seeds per recipe (3 for the shipped board)."),
    base: Path = BaseOpt,
) -> None:
    """build, train and eval each recipe in turn (curation recipes last: they rank the others' results), every
    training seed. Resumable: an up-to-date build, checkpoint or eval is reused, so a rerun after an interruption
    redoes only what is missing. Ends with the wall and CPU time it took (the board's rebuild cost)."""
    import resource

    t0 = time.time()
    order = [r.name for r in _recipes(names)] if names == ["all"] else names
    for name in order:
        build([name], cache_dir, output)
        train([name], cache_dir, None, False, seeds, base)
        eval_([name], cache_dir, output, EVAL_TASKS, EVAL_BATCH, seeds)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        f"{len(order)} recipe(s) x {seeds} seed(s): {time.time() - t0:.0f}s wall, "
        f"{usage.ru_utime + usage.ru_stime:.0f}s CPU (user+sys)"
    )


@app.command()
def findings(
    output: Path = OutputOpt,
    task: list[str] = typer.Option(
        ["reasoning/embedded", "reasoning/text"], "--task", "-t", help="Tasks to compare on (repeatable)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the two-level bootstrap."),
) -> None:
    """HoneyBee's findings re-tested: each intervention/scaling recipe against its base over all training seeds
    (two-level paired CI, p, the smallest detectable difference), as a markdown table (findings.py)."""
    from harness.api import open_store
    from harness_baselines.honeybee.findings import table

    print(table(open_store(output), task, seed))
