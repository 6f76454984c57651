"""Training sources and the trusted validation set of the SAIL reference, from the embedded generator with seeds
(101..108) disjoint from the evaluation suites' (0): other photo crops, shape layouts and title draws. Digit images
come from the same 1797 scikit-learn samples and speech from the same 360 espeak-ng renderings (10 words x 4 voices
x 3 speeds x 3 pitches), so a training clip can equal an evaluated one: the suites test grouping, not unseen voices.

Sources differ on purpose in kind and quality, so multi-source balancing has something to do:
  i2i   clean item-to-item pairs (group mates), with audio twins;             like the suites
  q2i   clean query-to-item pairs (the suites' query templates);              like the suites
  cls   classification: an item paired with its class name ("digit seven");  no spoken-word information
  speech  audio classification: a clip alone paired with "someone says <word>" (10 classes, one per word)
  web   scraped-looking pairs: shapes only, speech unrelated to the group, 40% of pairs wrong (label noise)
Each pair is (anchor, positive) indices into one sample pool plus a group label per sample: two samples with the
same label are never used as each other's negatives. A concept id per sample (q2i items and queries, per generator
run; -1 elsewhere) grades q2i pairs for CoSENT like the suites grade them: own group 2, the audio twin (same
concept, other word) 1.
Every sample carries its task instruction (paper Fig. 5): items the document one, each kind of query its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.data import retrieval_embedded as gen
from harness_baselines.sail.features import INSTRUCTIONS

SOURCES = ("i2i", "q2i", "cls", "speech", "web")
QUERY_INSTRUCTIONS = {
    "q2i": INSTRUCTIONS["query"],
    "cls": "Represent this class name for finding the items of the class.",
    "speech": "Represent this description of speech for finding the clip.",
}


@dataclass
class Pool:
    """samples: adapter-style item dicts (with their 'instruction'); label: [n] int group label (same label =
    relevant to each other); concept: [n] int concept id of q2i samples (-1: none)."""

    samples: list[dict]
    label: list[int]
    concept: list[int]

    def add(self, sample: dict, label: int, concept: int = -1) -> int:
        self.samples.append({"instruction": INSTRUCTIONS["document"], **sample})
        self.label.append(label)
        self.concept.append(concept)
        return len(self.samples) - 1


def _item_dict(it) -> dict:
    d = {"image": it.image, "audio": it.audio, "sample_rate": it.sample_rate}
    return {**d, "text": it.text} if it.text else d


def _query(text: str, kind: str = "q2i") -> dict:
    return {"text": text, "instruction": QUERY_INSTRUCTIONS[kind]}


def _groups_of(pool: Pool, items, offset: int, concepts: dict | None = None) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for it in items:
        c = -1 if concepts is None else concepts.setdefault((offset, it.meta["concept"]), len(concepts))
        out.setdefault(it.group, []).append(pool.add(_item_dict(it), offset + int(it.group[1:]), c))
    return out


def build(size: int = 32) -> tuple[Pool, dict[str, np.ndarray], dict[str, list[int]]]:
    """-> (pool, {source: [pairs, 2] int (anchor, positive)}, {"items", "queries"}: validation pool indices)."""
    pool, pairs, concepts = Pool([], [], []), {}, {}
    # i2i: every ordered pair of group mates; q2i: each query with each member of its own group (relevance 2).
    # Two generator seeds each: twin queries ("..., where someone says river") need many examples before the
    # model weighs the concept above the spoken word.
    pairs["i2i"], pairs["q2i"] = [], []
    for seed, offset in ((101, 0), (107, 6000)):
        data = gen.generate(seed=seed, n_twins=10, n_single=20, members=4, size=size)
        members = _groups_of(pool, data.items, offset)
        pairs["i2i"] += [(a, b) for m in members.values() for a in m for b in m if a != b]
    for seed, offset in ((102, 1000), (108, 7000)):
        data = gen.generate(seed=seed, n_twins=10, n_single=20, members=3, size=size)
        members = _groups_of(pool, data.items, offset, concepts)
        q = [
            (pool.add(_query(x.text), offset + int(x.id[1:4]), concepts[offset, x.meta["concept"]]), x.id[:4])
            for x in data.queries
        ]
        pairs["q2i"] += [(qi, m) for qi, g in q for m in members[g]]
    pairs["i2i"], pairs["q2i"] = np.array(pairs["i2i"]), np.array(pairs["q2i"])
    # cls: item <-> its class name; the label is the concept, shared by twins (the class says nothing of speech).
    data = gen.generate(seed=103, n_twins=0, n_single=30, members=3, size=size)
    concept_label = {c: 2000 + i for i, c in enumerate(sorted({it.meta["concept"] for it in data.items}))}
    names = {}
    cls_pairs = []
    for it in data.items:
        c = it.meta["concept"]
        if c not in names:
            kind = next(k for k, key in gen.concepts() if key == c)
            names[c] = pool.add(_query(gen.concept_words(kind, c), "cls"), concept_label[c])
        cls_pairs.append((pool.add(_item_dict(it), concept_label[c]), names[c]))
    pairs["cls"] = np.array(cls_pairs)
    # speech: the clip alone <-> the spoken word as text; the label is the word.
    data = gen.generate(seed=106, n_twins=10, n_single=20, members=2, size=size)
    said = {w: pool.add(_query(f"someone says {w}", "speech"), 5000 + i) for i, w in enumerate(gen.WORDS)}
    pairs["speech"] = np.array(
        [
            (
                pool.add({"audio": it.audio, "sample_rate": it.sample_rate}, 5000 + gen.WORDS.index(it.meta["word"])),
                said[it.meta["word"]],
            )
            for it in data.items
        ]
    )
    # web: shapes only, unrelated speech, 40% of the pairs point at a random item.
    rng = np.random.default_rng(104)
    shapes = [c for c in gen.concepts() if c[0] == "shape"]
    web: dict[str, list[int]] = {}
    for plan in gen.groups(104, 0, 24, concept_pool=shapes):
        g_rng = np.random.default_rng([104, int(plan["group"][1:])])
        for _ in range(4):
            word = gen.WORDS[int(g_rng.integers(len(gen.WORDS)))]
            it = gen.make_item("w", plan["group"], plan["kind"], plan["key"], word, g_rng, size, 0.0, {})
            web.setdefault(plan["group"], []).append(pool.add(_item_dict(it), 3000 + int(plan["group"][1:])))
    flat = [i for m in web.values() for i in m]
    web_pairs = [
        (a, b if rng.random() >= 0.4 else int(rng.choice(flat))) for m in web.values() for a in m for b in m if a != b
    ]
    pairs["web"] = np.array(web_pairs)
    # The trusted validation set: clean items and queries like the suites' (clustered for balancing only).
    data = gen.generate(seed=105, n_twins=6, n_single=12, members=2, size=size)
    val = {
        "items": [pool.add(_item_dict(it), 4000 + int(it.group[1:])) for it in data.items],
        "queries": [pool.add(_query(x.text), 4000 + int(x.id[1:4])) for x in data.queries],
    }
    return pool, pairs, val
