"""``harness recipe build``: materialize a recipe's CoT dataset, stage by stage, streaming rows to disk.

Order of a build (each step counted in the manifest):
1. plan: which rows of which sources (curation picks top-ranked sources from the store; ``scaling.images``
   multiplies sizes; ``balance_difficulty`` stratifies over a larger pool; ``text_mix`` adds text-only rows);
2. per row: render the question, drop (or flag) it when its image or text matches an evaluation sample
   (``decontamination``, see decontaminate.py), drop it if a blind prior solves it (``remove_text_solvable``),
   add synthesized questions on the same image (``scaling.questions``; labelled by ``majority_vote`` when set),
   apply perception edits and ``more_options``;
3. per question: write ``scaling.cots`` CoTs with the generator, drop those whose answer disagrees with the ground
   truth (``answer_filter``) or that are short (``long_cot``), prefix the caption (``caption``);
4. write the row (JSONL + PNG), hashing as it goes.
"""

from __future__ import annotations

import dataclasses
import heapq
import time
from collections import Counter
from pathlib import Path

import numpy as np

from harness.errors import HarnessError
from harness.metrics.reasoning import extract_answer, grade, grade_extracted, majority_answer
from harness.spec import ReasoningOptions
from harness_baselines.honeybee import interventions as iv
from harness_baselines.honeybee.dataset import DatasetWriter
from harness_baselines.honeybee.pretrain import describe as image_description
from harness_baselines.honeybee.recipe import Recipe, load_recipe
from harness_baselines.honeybee.sources import SOURCES, Question, describe, make_question, synthesize
from harness_baselines.honeybee.teacher import write_cot
from harness_baselines.honeybee.vocab import CAPTION_START, END_CAPTION

PROMPT_SUFFIX = ReasoningOptions().prompt_suffix  # the eval suites' suffix: train and test prompts look alike
LETTERS = "ABCDEFGH"


def prompt_text(question: str, choices: list[str] | None) -> str:
    """Same layout as harness.kinds.reasoning.build_prompt: question, "(A) option" lines, suffix."""
    lines = [question, *(f"({LETTERS[k]}) {c}" for k, c in enumerate(choices or []))]
    return "\n".join([*lines, PROMPT_SUFFIX])


def plan(recipe: Recipe, store_path: Path | None) -> tuple[list[tuple[str, np.ndarray, bool]], dict]:
    """-> ([(source name, row indices, answer filter)], notes for the manifest). A curated source keeps the answer
    filter of the ranked recipe it comes from (its proxy was scored on filtered data), besides the curating
    recipe's own ``answer_filter``."""
    notes: dict = {}
    uses = [(u.name, u.size, recipe.answer_filter) for u in recipe.sources]
    if recipe.curation is not None:
        ranking = rank_recipes(recipe.curation.rank, store_path)
        top = [name for name, _ in ranking[: recipe.curation.top]]
        notes["curation_ranking"] = ranking
        per = recipe.curation.size // len(top)
        for r in top:
            ranked = load_recipe(r)
            for u in ranked.sources:
                uses.append((u.name, per, recipe.answer_filter or ranked.answer_filter))
    rng = np.random.default_rng([recipe.seed, 1])
    out = []
    for name, size, answer_filter in uses:
        size *= recipe.scaling.images
        if recipe.intervention("balance_difficulty"):
            pool = np.arange(4 * size)
            diffs = np.array([describe(SOURCES[name], int(i))[1] for i in pool])
            out.append((name, pool[iv.balanced_indices(diffs, size, rng)], answer_filter))
        else:
            out.append((name, np.arange(size), answer_filter))
    mix = recipe.intervention("text_mix")
    if mix:
        n_text = int(round(mix.fraction * sum(len(ix) for _, ix, _ in out)))
        out.append(("text_only", np.arange(n_text), recipe.answer_filter))
    return out, notes


def rank_recipes(names: list[str], store_path: Path | None) -> list[tuple[str, float]]:
    """Curation: single-source recipes ranked by their proxy's mean accuracy over the reasoning tasks."""
    from harness.store import RunStore

    if store_path is None or not store_path.is_file():
        raise HarnessError(f"curation needs results of {', '.join(names)} in a results store; none at {store_path}")
    store, scores = RunStore(store_path), []
    for name in names:
        runs = store.runs(
            "model='honeybee-proxy' AND variant=? AND status='finished' AND sample_limit IS NULL", (name,)
        )
        latest = {r["task"]: r for r in runs}  # ordered by start: the newest run per task wins
        accs = [
            a["value"]
            for r in latest.values()
            for a in store.aggregates(r["run_id"])
            if a["subset"] == "" and a["metric"] == "accuracy"
        ]
        if not accs:
            raise HarnessError(
                f"curation: no eval of recipe {name!r} in {store_path} (run `harness recipe eval {name}` first)"
            )
        scores.append((name, float(np.mean(accs))))
    return sorted(scores, key=lambda s: -s[1])


def _interleave(planned):
    """Rows of all sources interleaved in proportion, so any prefix of the stream is a fair mix."""

    def stream(name, ix, answer_filter):
        return (((k + 0.5) / len(ix), name, int(i), answer_filter) for k, i in enumerate(ix))

    for _, name, i, answer_filter in heapq.merge(*(stream(*use) for use in planned)):
        yield name, i, answer_filter


class CotWriter:
    """The recipe's CoT generator: the programmatic teacher, or a registered Reasoner adapter."""

    def __init__(self, recipe: Recipe):
        self.g = recipe.generator
        self.adapter = None
        if self.g.model != "teacher":
            from harness.adapters import adapter_class, parse_model_args

            cls = adapter_class(self.g.model)
            if cls.kind != "reasoning":
                raise HarnessError(f"generator.model {self.g.model!r} is a {cls.kind} adapter, not a Reasoner")
            self.adapter = cls(**parse_model_args(self.g.model_args))

    def __call__(self, q: Question, n: int, rng: np.random.Generator) -> list[str]:
        if self.adapter is None:
            err = max(self.g.error_rate, SOURCES[q.source].teacher_error)
            return [write_cot(q, rng, err) for _ in range(n)]
        prompt = {"text": prompt_text(q.question, q.choices), "images": [] if q.image is None else [q.image]}
        return list(self.adapter.generate([prompt], [int(rng.integers(0, 2**62))], n=n)[0])


def build(recipe: Recipe, cache: Path, store_path: Path | None = None) -> tuple[Path, dict]:
    """Build ``recipe`` into ``cache``/datasets; returns (dataset folder, manifest)."""
    t0 = time.time()
    planned, notes = plan(recipe, store_path)
    counts: Counter = Counter()
    prior = _fit_prior(planned) if recipe.intervention("remove_text_solvable") else None
    cot_writer = CotWriter(recipe)
    decon = recipe.decontamination
    index = None
    if decon.enabled:
        from harness_baselines.honeybee.decontaminate import EvalIndex

        index = EvalIndex.build(decon.suites, decon.ngram, cache)
    matches: Counter = Counter()
    # Distinct rows, questions (text + image), question texts and CoTs: synthesized questions and extra CoTs are
    # only worth their count if they differ. Python's str hash is stable within the process: 1M rows ~ 100 MB.
    distinct: dict[str, set] = {"rows": set(), "questions": set(), "question_texts": set(), "cots": set()}
    long_cot, caption = recipe.intervention("long_cot"), recipe.intervention("caption")
    vote = recipe.intervention("majority_vote")
    hist: Counter = Counter()
    with DatasetWriter(cache, recipe.name) as writer:
        for name, i, answer_filter in _interleave(planned):
            src = SOURCES[name]
            rng = np.random.default_rng([recipe.seed, src.seed, i])
            q = make_question(src, i)
            counts["1_questions"] += 1
            match = None
            if index is not None:
                match = (
                    index.image_match(q.image, decon.phash_distance)
                    if q.image is not None
                    else index.text_match(q.question, decon.min_overlap)
                )
                if match is not None:
                    matches[match.kind] += 1
                    if decon.action == "drop":
                        counts["2_dropped_contaminated"] += 1
                        continue
            if prior is not None and src.with_images and prior.solves(q):
                counts["2_dropped_text_solvable"] += 1
                continue
            questions = [q] + [synthesize(q, k, rng) for k in range(1, recipe.scaling.questions)]
            counts["3_questions_after_synthesis"] += len(questions)
            for qq in questions:
                qq = _edit(recipe, qq, rng)
                if vote and qq.variant > 0:
                    qq = _majority_label(qq, cot_writer, vote, rng, counts)
                    if qq is None:
                        continue
                for c, cot in enumerate(cot_writer(qq, recipe.scaling.cots, rng)):
                    counts["4_cots_generated"] += 1
                    if answer_filter and not grade(cot, qq.answer, qq.choices, grader="strict"):
                        counts["5_dropped_answer_disagrees"] += 1
                        continue
                    if long_cot and len(cot.split()) < long_cot.min_words:
                        counts["6_dropped_short_cot"] += 1
                        continue
                    if caption and qq.image is not None:  # a text-only row states it already
                        # in the base's description wording (pretrain.describe): what the base learned to read
                        cot = f"{CAPTION_START} {image_description(qq)} {END_CAPTION} {cot}"
                    hist[qq.difficulty] += 1
                    row = {
                        "id": f"{name}-{i}-q{qq.variant}-c{c}",
                        "source": name,
                        "category": qq.category,
                        "difficulty": qq.difficulty,
                        "qtype": qq.qtype,
                        "question": qq.question,
                        "choices": qq.choices,
                        "answer": qq.answer,
                        "prompt": prompt_text(qq.question, qq.choices),
                        "cot": cot,
                        "image": None,
                    }
                    if match is not None:  # action "flag": kept, marked with what it matched
                        row["contaminated"] = {"kind": match.kind, "eval_id": match.eval_id, "score": match.score}
                    writer.add(row, qq.image)  # sets row["image"] to the PNG's content name
                    distinct["rows"].add(hash((row["question"], row["image"], cot)))
                    distinct["questions"].add(hash((row["question"], row["image"])))
                    distinct["question_texts"].add(hash(row["question"]))
                    distinct["cots"].add(hash(cot))
        counts["7_rows"] = writer.n_rows
        manifest = {
            "recipe": recipe.model_dump(mode="json"),
            "stages": dict(sorted(counts.items())),
            "per_source": {n: len(ix) for n, ix, _ in planned},
            "difficulty_histogram": {str(d): hist[d] for d in sorted(hist)},
            "build_seconds": None,
            "decontamination": _decontamination_note(decon, index, matches),
            "distinct": {k: len(v) for k, v in distinct.items()},
            **notes,
        }
        manifest["build_seconds"] = round(time.time() - t0, 2)
        path = writer.finish(manifest)
    from harness_baselines.honeybee.dataset import manifest as read_manifest

    return path, read_manifest(path)


def _majority_label(q: Question, cot_writer, vote, rng: np.random.Generator, counts: Counter) -> Question | None:
    """A synthesized question labelled by the generator's majority answer (None: no answer reached min_share).
    Counted: dropped, and kept with a label that disagrees with the scene's truth (known here, unlike in the
    paper's setting: how often the vote mislabels)."""
    extracted = [extract_answer(c) for c in cot_writer(q, vote.votes, rng)]
    counts["3a_votes_cast"] += vote.votes
    top = majority_answer(extracted, q.choices)
    share = (
        0.0
        if top is None
        else sum(e is not None and grade_extracted(e, top, q.choices) for e in extracted) / vote.votes
    )
    if top is None or share < vote.min_share:
        counts["3b_dropped_no_majority"] += 1
        return None
    if not grade_extracted(top, q.answer, q.choices):
        counts["3c_majority_disagrees_with_truth"] += 1
    return dataclasses.replace(q, answer=top)


def _decontamination_note(decon, index, matches: Counter) -> dict:
    """What the manifest says about decontamination: settings, what was compared, how many rows matched."""
    note = {"enabled": decon.enabled}
    if index is None:
        return note
    return {
        **note,
        "action": decon.action,
        "phash_distance": decon.phash_distance,
        "ngram": decon.ngram,
        "min_overlap": decon.min_overlap,
        "suites": index.suites,
        "eval_images": len(index.image_ids),
        "eval_texts": len(index.text_ids),
        "image_matches": matches["image"],
        "text_matches": matches["text"],
        ("dropped" if decon.action == "drop" else "flagged"): matches["image"] + matches["text"],
    }


def _edit(recipe: Recipe, q: Question, rng: np.random.Generator) -> Question:
    """Perception edits and more options, in the order the recipe lists them."""
    for intervention in recipe.interventions:
        if intervention.name == "rotate":
            q = iv.rotate(q, rng, intervention.p)
        elif intervention.name == "distractors":
            q = iv.distractors(q, rng, intervention.n)
        elif intervention.name == "question_in_image":
            q = iv.question_in_image(q, rng, intervention.p)
        elif intervention.name == "more_options":
            q = iv.more_options(q, rng, intervention.n_options)
    return q


def _fit_prior(planned) -> iv.BlindPrior:
    """First, cheap pass (no rendering) over the planned image rows: what a blind model could learn."""
    prior = iv.BlindPrior()
    for name, ix, _ in planned:
        if SOURCES[name].with_images:
            for i in ix:
                prior.fit(make_question(SOURCES[name], int(i), with_images=False))
    return prior
