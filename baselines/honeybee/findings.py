"""``harness recipe findings``: HoneyBee's findings re-tested on the board, each recipe against its base.

Every row pools the training seeds of both recipes (harness/seeds.py): the difference of the means over seeds and
questions, its two-level paired BCa CI and p-value (seeds, then questions; ``two_level_paired_test``), and the
smallest difference this comparison could detect at alpha = 0.05 with 80 % power (harness/metrics/power.py), from
the measured discordance of the two recipes and their seed spread — a difference below it is "not detectable",
whatever its sign. The table is printed as markdown for the README; nothing here decides what a finding means.
"""

from __future__ import annotations

import numpy as np

from harness.errors import HarnessError

PROXY = "honeybee-proxy"

# (finding, recipe B, base A): the paper's claims (arXiv 2510.12225, sections 3-5) mapped onto shipped recipes.
FINDINGS = [
    ("pretrained base (vs from scratch)", "src_mixed", "src_mixed_scratch"),
    ("caption and solve", "iv_caption", "src_mixed"),
    ("text-only mixing", "iv_text_mix", "src_mixed"),
    ("perception: rotate images", "iv_rotate", "src_mixed"),
    ("perception: distractor marks", "iv_distractors", "src_mixed"),
    ("perception: question in the image", "iv_question_in_image", "src_mixed"),
    ("problem solving: remove text-solvable", "iv_remove_text_solvable", "src_mixed"),
    ("problem solving: more options", "iv_more_options", "src_mixed"),
    ("problem solving: long CoTs only", "iv_long_cot", "src_mixed"),
    ("problem solving: balance difficulty", "iv_balance_difficulty", "src_mixed"),
    ("answer filter (noisy teacher)", "src_noisy_filtered", "src_noisy"),
    ("curation: top-3 sources", "mix_top3", "src_mixed"),
    ("scale images x4 (steps)", "scale_images", "src_mixed"),
    ("scale questions x3 (steps)", "scale_questions", "src_mixed"),
    ("scale CoTs x3 (steps)", "scale_cots", "src_mixed"),
    ("scale all x2 (steps)", "scale_all", "src_mixed"),
    ("scale images x4 (epochs)", "scale_images_epochs", "src_mixed_epochs"),
    ("scale questions x3 (epochs)", "scale_questions_epochs", "src_mixed_epochs"),
    ("scale CoTs x3 (epochs)", "scale_cots_epochs", "src_mixed_epochs"),
    ("scale all x2 (epochs)", "scale_all_epochs", "src_mixed_epochs"),
    ("all stages combined", "combined", "src_mixed"),
]
FLOORS = [("vs constant \\boxed{A}", "constant"), ("vs random choice", "random-choice")]


def label(recipe: str) -> str:
    return f"{PROXY} [recipe={recipe}]"


def compare_groups(store, task: str, label_a: str, label_b: str, seed: int = 0) -> dict:
    """B - A over the training seeds of both labels on ``task``, with the detectable difference."""
    from harness.compare import seed_group
    from harness.metrics.power import minimum_detectable_difference
    from harness.metrics.stats import two_level_ci, two_level_paired_test
    from harness.seeds import score_matrix

    runs_a, runs_b = seed_group(store, task, label_a), seed_group(store, task, label_b)
    maps = [store.run_scores(r) for r in runs_a + runs_b]
    both, _ = score_matrix(maps, "accuracy")
    both = both[:, ~np.isnan(both).any(axis=0)] / 100.0  # accuracy is stored in points
    a, b = both[: len(runs_a)], both[len(runs_a) :]
    test = two_level_paired_test(a, b, seed)
    agg_a, agg_b = two_level_ci(a, seed), two_level_ci(b, seed)
    # discordance: share of questions where one side is right and the other wrong, averaged over seed pairs
    psi = float(np.mean([np.mean(x != y) for x in a for y in b]))
    seeds = min(len(runs_a), len(runs_b))
    sd = float(np.sqrt((agg_a.seed_sd**2 + agg_b.seed_sd**2) / 2))
    mdd = minimum_detectable_difference(a.shape[1], max(psi, 1e-6), seeds=seeds, seed_sd=sd)
    return {
        "a": agg_a.mean,
        "b": agg_b.mean,
        "a_sd": agg_a.seed_sd,
        "b_sd": agg_b.seed_sd,
        "diff": test.diff,
        "ci": (test.ci_low, test.ci_high),
        "p": test.p_value,
        "n": test.n,
        "seeds": (len(runs_a), len(runs_b)),
        "mdd": mdd,
    }


def table(store, tasks: list[str], seed: int = 0) -> str:
    """The markdown findings table: one row per finding and task (points, 95% two-level CIs)."""
    rows = [(name, label(b), label(a)) for name, b, a in FINDINGS]
    rows += [(f"src_mixed {name}", label("src_mixed"), model) for name, model in FLOORS]
    lines = [
        "| finding | B | A (base) | task | A ± seed sd | B ± seed sd | B − A [95% CI] | p | detectable "
        "| seeds B/A | measured |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, lb, la in rows:
        for task in tasks:
            try:
                r = compare_groups(store, task, la, lb, seed)
            except HarnessError:  # one side has no full run on this task in the store
                lines.append(f"| {name} | {_short(lb)} | {_short(la)} | {task} | | | | | | | not run |")
                continue
            lo, hi = r["ci"]
            verdict = (
                "below detectable size" if abs(r["diff"]) < r["mdd"] else ("B better" if r["diff"] > 0 else "B worse")
            )
            sig = "significant" if r["p"] < 0.05 else "n.s."
            lines.append(
                f"| {name} | {_short(lb)} | {_short(la)} | {task} | {100 * r['a']:.1f} ± {100 * r['a_sd']:.1f} "
                f"| {100 * r['b']:.1f} ± {100 * r['b_sd']:.1f} | {100 * r['diff']:+.1f} [{100 * lo:+.1f}, "
                f"{100 * hi:+.1f}] | {r['p']:.3f} | {100 * r['mdd']:.1f} | {r['seeds'][1]}/{r['seeds'][0]} "
                f"| {verdict}, {sig} |"
            )
    return "\n".join(lines)


def _short(lab: str) -> str:
    return lab.removeprefix(f"{PROXY} [recipe=").removesuffix("]")
