"""HoneyBee builds: deterministic content hash, manifest counts per stage, and each intervention's effect on a
tiny build."""

import json
from collections import Counter

import numpy as np
import pytest

from harness.metrics.reasoning import grade
from harness_baselines.honeybee.build import build
from harness_baselines.honeybee.dataset import DatasetWriter, iter_rows, load_image
from harness_baselines.honeybee.recipe import Recipe


def _build(tmp_path, cache="cache", **fields):
    # Decontamination (on by default in recipes) drops rows whose image is an eval image; the tests of other stages
    # turn it off so their counts are about their stage alone; test_decontamination.py tests it.
    fields.setdefault("decontamination", {"enabled": False})
    recipe = Recipe.model_validate({"name": "tiny", "seed": 1, "sources": [{"name": "mixed", "size": 24}], **fields})
    path, manifest = build(recipe, tmp_path / cache)
    return list(iter_rows(path)), manifest, path


def test_build_is_deterministic_and_content_hashed(tmp_path):
    rows_a, man_a, path_a = _build(tmp_path, "a")
    rows_b, man_b, path_b = _build(tmp_path, "b")
    assert man_a["content_hash"] == man_b["content_hash"] and rows_a == rows_b
    assert path_a.name == f"tiny-{man_a['content_hash'][:12]}"
    rows_c, man_c, _ = _build(tmp_path, "c", seed=2)
    assert man_c["content_hash"] != man_a["content_hash"]


def test_manifest_counts_every_stage(tmp_path):
    rows, man, path = _build(
        tmp_path,
        answer_filter=True,
        scaling={"questions": 2, "cots": 2},
        interventions=[{"name": "long_cot", "min_words": 18}],
        decontamination={},
    )
    s = man["stages"]
    kept = 24 - s.get("2_dropped_contaminated", 0)  # rows whose image is an eval image are dropped first
    assert s["1_questions"] == 24 and s["3_questions_after_synthesis"] == 2 * kept and s["4_cots_generated"] == 4 * kept
    assert man["decontamination"]["dropped"] == s.get("2_dropped_contaminated", 0)
    assert (
        s["4_cots_generated"] - s.get("5_dropped_answer_disagrees", 0) - s.get("6_dropped_short_cot", 0)
        == s["7_rows"]
        == man["rows"]
        == len(rows)
    )
    assert sum(man["difficulty_histogram"].values()) == len(rows)
    distinct = man["distinct"]
    assert distinct["rows"] == len({(r["question"], r["image"], r["cot"]) for r in rows})
    assert distinct["questions"] == len({(r["question"], r["image"]) for r in rows}) < len(rows)  # 2 CoTs each
    assert distinct["cots"] == len({r["cot"] for r in rows}) and distinct["question_texts"] <= distinct["questions"]
    on_disk = {r["image"] for r in rows if r["image"]}
    assert len(on_disk) == man["images"] and all((path / rel).is_file() for rel in on_disk)


def test_writer_streams_shards_and_leaves_no_temp_dir(tmp_path):
    with DatasetWriter(tmp_path, "w", rows_per_shard=3) as w:
        for k in range(7):
            w.add({"id": k}, np.full((4, 4, 3), k % 2, np.uint8))
        path = w.finish({})
    assert len(list(path.glob("shard-*.jsonl"))) == 3 and [r["id"] for r in iter_rows(path)] == list(range(7))
    assert json.loads((path / "manifest.json").read_text())["images"] == 2
    assert [p.name for p in tmp_path.joinpath("datasets").iterdir() if p.name.startswith(".tmp")] == []


def test_failed_build_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with DatasetWriter(tmp_path, "w") as w:
            w.add({"id": 0}, None)
            raise RuntimeError("crash mid-build")
    assert list((tmp_path / "datasets").iterdir()) == []


def test_answer_filter_keeps_only_agreeing_cots(tmp_path):
    rows, man, _ = _build(tmp_path, sources=[{"name": "noisy", "size": 30}], answer_filter=True)
    assert man["stages"]["5_dropped_answer_disagrees"] > 5
    assert all(grade(r["cot"], r["answer"], r["choices"], grader="strict") for r in rows)
    unfiltered, _, _ = _build(tmp_path, "c2", sources=[{"name": "noisy", "size": 30}])
    assert not all(grade(r["cot"], r["answer"], r["choices"], grader="strict") for r in unfiltered)


def test_caption_prefixes_the_cot_and_ends_at_the_marker(tmp_path):
    from harness_baselines.honeybee.vocab import END_CAPTION, Vocab, build_vocab

    rows, _, _ = _build(tmp_path, interventions=[{"name": "caption"}])
    vocab = Vocab(build_vocab())
    for r in rows:
        assert r["cot"].startswith("caption: ") and r["cot"].count(END_CAPTION) == 1
        caption, solution = r["cot"].split(END_CAPTION)
        assert "\\boxed{" not in caption and "\\boxed{" in solution
        assert vocab.encode(r["cot"]).count(vocab.index[END_CAPTION]) == 1  # one token the decoder can detect


def test_more_options_grows_multiple_choice(tmp_path):
    base, _, _ = _build(tmp_path, "a")
    rows, _, _ = _build(tmp_path, "b", interventions=[{"name": "more_options", "n_options": 6}])
    assert {len(r["choices"]) for r in base if r["choices"]} == {4}
    assert {len(r["choices"]) for r in rows if r["choices"]} == {6}
    for r in rows:
        if r["choices"]:
            assert "(F) " in r["prompt"] and len(set(r["choices"])) == 6


def test_long_cot_filter_drops_short_ones(tmp_path):
    rows, man, _ = _build(tmp_path, interventions=[{"name": "long_cot", "min_words": 20}])
    assert man["stages"]["6_dropped_short_cot"] > 0 and all(len(r["cot"].split()) >= 20 for r in rows)


def test_balance_difficulty_flattens_the_histogram(tmp_path):
    _, skewed, _ = _build(tmp_path, "a", sources=[{"name": "mixed", "size": 30}])
    _, man, _ = _build(
        tmp_path, "b", sources=[{"name": "mixed", "size": 30}], interventions=[{"name": "balance_difficulty"}]
    )
    assert skewed["difficulty_histogram"]["1"] > 12  # the source is 60% easy
    assert man["difficulty_histogram"] == {"1": 10, "2": 10, "3": 10}


def test_text_mix_adds_text_only_rows(tmp_path):
    rows, man, _ = _build(tmp_path, interventions=[{"name": "text_mix", "fraction": 0.5}])
    assert man["per_source"]["text_only"] == 12 and Counter(r["image"] is None for r in rows)[True] == 12


def test_remove_text_solvable_drops_questions_the_prior_answers(tmp_path):
    _, man, _ = _build(
        tmp_path, sources=[{"name": "mixed", "size": 80}], interventions=[{"name": "remove_text_solvable"}]
    )
    dropped = man["stages"]["2_dropped_text_solvable"]
    assert 0 < dropped < 80 and man["rows"] == 80 - dropped


@pytest.mark.parametrize(
    "intervention", [{"name": "rotate", "p": 1.0}, {"name": "distractors", "n": 3}, {"name": "question_in_image"}]
)
def test_perception_edits_change_images(tmp_path, intervention):
    base, _, base_path = _build(tmp_path, "a")
    rows, _, path = _build(tmp_path, "b", interventions=[intervention])
    assert [r["answer"] for r in rows] == [r["answer"] for r in base]
    changed = [
        not np.array_equal(load_image(path, r["image"]), load_image(base_path, b["image"]))
        for r, b in zip(rows, base)
        if r["image"] and b["image"]
    ]
    assert all(changed) if intervention["name"] != "rotate" else sum(changed) >= len(changed) - 2
    if intervention["name"] == "question_in_image":
        assert all(r["question"] == "Answer the question written in the image." for r in rows)


def test_scaling_axes_multiply_rows(tmp_path):
    rows, man, _ = _build(tmp_path, scaling={"images": 2, "questions": 3, "cots": 2})
    assert man["per_source"]["mixed"] == 48 and man["rows"] == 48 * 3 * 2
    variants = Counter(r["id"].rsplit("-q", 1)[1][0] for r in rows)
    assert variants == {"0": 96, "1": 96, "2": 96}


def test_caption_is_not_prefixed_to_text_only_rows(tmp_path):
    rows, _, _ = _build(
        tmp_path,
        sources=[{"name": "mixed", "size": 6}, {"name": "text_only", "size": 6}],
        interventions=[{"name": "caption"}],
    )
    assert {r["source"] for r in rows} == {"mixed", "text_only"}
    for r in rows:  # the text-only question already states the picture in words
        assert r["cot"].startswith("caption: ") == (r["source"] != "text_only")


def _store_with_ranked_runs(path, accuracies):
    """A real results store holding finished honeybee-proxy runs of the ranked recipes (what `harness recipe eval`
    writes), so curation can rank them."""
    from harness.metrics.stats import Aggregate
    from harness.spec import RunSpec
    from harness.store import RunStore

    store = RunStore(path)
    for recipe, acc in accuracies.items():
        spec = RunSpec(
            task="reasoning/embedded",
            task_hash="h",
            model="honeybee-proxy",
            model_args=(("recipe", recipe),),
            model_fingerprint=recipe,
        )
        store.start_run(spec, "reasoning", {})
        store.finish_run(spec.run_id(), {"": {"accuracy": Aggregate(acc, acc, acc, 10)}}, {}, ["s"])
    store.close()


def test_curation_keeps_the_answer_filter_of_the_ranked_recipe(tmp_path, monkeypatch):
    # ranked recipes: src_noisy is filtered (its proxy was scored on filtered CoTs), src_mixed is not.
    import yaml

    from harness_baselines.honeybee import recipe as recipe_mod

    folder = tmp_path / "recipes"
    folder.mkdir()
    (folder / "r_noisy.yaml").write_text(
        yaml.safe_dump({"name": "r_noisy", "sources": [{"name": "noisy", "size": 5}], "answer_filter": True})
    )
    (folder / "r_mixed.yaml").write_text(yaml.safe_dump({"name": "r_mixed", "sources": [{"name": "mixed", "size": 5}]}))
    _store_with_ranked_runs(tmp_path / "s.sqlite", {"r_noisy": 40.0, "r_mixed": 30.0})
    monkeypatch.setattr(recipe_mod, "RECIPES_DIR", folder)  # ranked recipes are looked up by name there
    curated = Recipe.model_validate(
        {
            "name": "cur",
            "seed": 1,
            "curation": {"rank": ["r_noisy", "r_mixed"], "top": 2, "size": 60},
            "decontamination": {"enabled": False},
        }
    )
    path, man = build(curated, tmp_path / "cache", tmp_path / "s.sqlite")
    rows = list(iter_rows(path))
    assert [name for name, _ in man["curation_ranking"]] == ["r_noisy", "r_mixed"]
    noisy = [r for r in rows if r["source"] == "noisy"]
    assert noisy and all(grade(r["cot"], r["answer"], r["choices"], grader="strict") for r in noisy)
    assert man["stages"]["5_dropped_answer_disagrees"] > 0
    mixed = [r for r in rows if r["source"] == "mixed"]
    assert len(mixed) == 30  # unfiltered: every CoT of the unfiltered recipe's source is kept


def test_majority_vote_labels_synthesized_questions_by_the_generators_vote(tmp_path):
    vote = [{"name": "majority_vote", "votes": 5, "min_share": 0.6}]
    rows, man, _ = _build(
        tmp_path, "noisy", sources=[{"name": "noisy", "size": 30}], scaling={"questions": 3}, interventions=vote
    )
    s = man["stages"]
    assert s["3a_votes_cast"] == 5 * 60  # two synthesized questions per image
    assert s["3b_dropped_no_majority"] > 0  # a teacher wrong half the time often splits its votes
    assert s["3c_majority_disagrees_with_truth"] > 0  # and sometimes agrees on a wrong answer: kept, mislabelled
    assert s["4_cots_generated"] == 30 + 60 - s["3b_dropped_no_majority"]
    clean, man_clean, _ = _build(
        tmp_path,
        "clean",
        sources=[{"name": "mixed", "size": 30}],
        scaling={"questions": 3},
        generator={"error_rate": 0.0},
        interventions=vote,
    )
    assert man_clean["stages"].get("3c_majority_disagrees_with_truth", 0) == 0
    assert man_clean["stages"].get("3b_dropped_no_majority", 0) == 0 and len(clean) == 90


def test_synthesized_questions_and_cots_vary_and_stay_in_the_proxy_vocabulary(tmp_path):
    from harness_baselines.honeybee.vocab import UNK, Vocab, build_vocab, tokenize

    rows, man, _ = _build(tmp_path, sources=[{"name": "mixed", "size": 40}], scaling={"questions": 4, "cots": 3})
    synthesized = {r["question"] for r in rows if "-q0-" not in r["id"]}
    assert len(synthesized) >= 12  # several templates per category, not one or two
    assert man["distinct"]["cots"] > 0.8 * len(rows)  # extra CoTs differ in wording, not only in length
    vocab = Vocab(build_vocab())
    unknown = {t for r in rows for t in tokenize(r["prompt"] + " " + r["cot"]) if vocab.index.get(t) is None}
    assert not unknown and UNK not in unknown


def test_reading_steps_and_captions_use_the_base_description_words(tmp_path):
    from harness_baselines.honeybee.pretrain import describe
    from harness_baselines.honeybee.sources import SOURCES, make_question
    from harness_baselines.honeybee.teacher import write_cot

    rng = np.random.default_rng(0)
    for i in range(30):  # every category: a long CoT reads the picture as the base describes it
        q = make_question(SOURCES["mixed"], i, with_images=False)
        cot = write_cot(q, rng, error_rate=0.0, long_share=1.0)
        assert describe(q) in cot, (q.qtype, cot)
    rows, _, _ = _build(tmp_path, interventions=[{"name": "caption"}])
    captions = [r["cot"].split(" <end_caption>")[0].removeprefix("caption: ") for r in rows]
    assert all(
        c.startswith(("there are", "the digits", "the chart", "the short hour", "the shaded", "the labelled"))
        for c in captions
    )
