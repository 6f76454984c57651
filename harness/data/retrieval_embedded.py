"""Embedded retrieval suites: short "videos" (an image, a title, speech) in groups, plus short text queries.

Every item shows a *concept* drawn from real shipped data — a handwritten digit (scikit-learn's digits), a crop of
a photo (scikit-image / scikit-learn samples) or a rendered coloured shape — with a title (a paraphrase of the
concept; dropped for ``title_dropout`` of the items, so the image must carry it) and a clip of espeak-ng speech
saying one *spoken word* (voice, speed and pitch vary per item).

A group = (concept, spoken word); its members are the i2i relevance. Two subsets, reported separately:
  visual  the group's concept appears in no other group: image and title suffice;
  audio   the concept is shared by a *twin* group with another spoken word: image and title match across the twins,
          so only the speech tells them apart — audio must help here.
Queries (q2i): two short texts per group naming the concept ("digit seven"); audio-subset queries also name the
word ("digit seven, where someone says river"). Graded relevance: the group's members 2, the twin's members 1.

Everything is deterministic from ``seed``; training data for reference models comes from the same generator with
other seeds (``groups(...)``). Speech is cached on disk (harness/data/retrieval_tts.py).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from harness.data import register_loader
from harness.data.edit_photos import PHOTOS, load_photo
from harness.data.edit_scenes import BACKGROUNDS, COLORS, SHAPES, _inside, render
from harness.data.retrieval_tts import SAMPLE_RATE, VOICES, speak
from harness.errors import DataError
from harness.kinds.retrieval import RetrievalData, RetrievalItem, RetrievalQuery

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
WORDS = ("apple", "river", "thunder", "garden", "engine", "violin", "candle", "window", "pepper", "tiger")
SPEEDS, PITCHES = (130, 160, 190), (35, 50, 65)
# Per concept kind: title templates (items) and query templates; {c} is the concept's words.
TITLES = {
    "digit": ("handwritten digit {c}", "a scanned {c} written by hand", "the number {c}, handwritten"),
    "photo": ("a photo of {c}", "picture showing {c}", "{c}, photographed"),
    "shape": ("a {c}", "drawing of a {c}", "{c} on a plain background"),
}
QUERIES = {"digit": ("digit {c}", "handwritten {c}"), "photo": ("{c}", "photo of {c}"), "shape": ("{c}", "a {c} shape")}


def concepts() -> list[tuple[str, str]]:
    """Every (kind, key) concept: 10 digits, 13 photos, 24 coloured shapes."""
    return (
        [("digit", str(d)) for d in range(10)]
        + [("photo", p) for p in PHOTOS]
        + [("shape", f"{c} {s}") for c in COLORS for s in SHAPES]
    )


def concept_words(kind: str, key: str) -> str:
    return {
        "digit": lambda: DIGIT_WORDS[int(key)],
        "photo": lambda: PHOTOS[key].removeprefix("a ").removeprefix("an ").removeprefix("the "),
        "shape": lambda: key,
    }[kind]()


def _digit_images():
    from harness.data.reasoning_figures import _digits  # cached scikit-learn digits

    return _digits()


def render_concept(kind: str, key: str, rng: np.random.Generator, size: int) -> np.ndarray:
    """A fresh uint8 (size, size, 3) view of a concept: another handwritten sample, photo crop or shape layout."""
    if kind == "digit":
        images, targets = _digit_images()
        pick = rng.choice(np.flatnonzero(targets == int(key)))
        grey = Image.fromarray((images[pick] * 255 / 16).astype(np.uint8)).resize((size, size), Image.BILINEAR)
        ink = np.array([rng.uniform(0.6, 1.0) for _ in range(3)], np.float32)  # tinted ink: colour is no cue
        return (np.asarray(grey, np.float32)[..., None] * ink).clip(0, 255).astype(np.uint8)
    if kind == "photo":
        img = load_photo(key)
        short = min(img.size)
        side = int(rng.integers(int(0.4 * short), short + 1))
        x0, y0 = int(rng.integers(0, img.width - side + 1)), int(rng.integers(0, img.height - side + 1))
        crop = img.resize((size, size), Image.BILINEAR, box=(x0, y0, x0 + side, y0 + side))
        return np.asarray(crop, np.uint8).copy()
    color, shape = key.split()
    bg = list(BACKGROUNDS)[int(rng.integers(len(BACKGROUNDS)))]
    r_lo, r_hi = max(3, size // 8), max(4, size // 4)
    for _ in range(100):
        o = {
            "shape": shape,
            "color": color,
            "r": int(rng.integers(r_lo, r_hi + 1)),
            "x": int(rng.integers(0, size)),
            "y": int(rng.integers(0, size)),
        }
        if _inside(o, size):
            return render({"background": [bg], "split": "none", "objects": [o]}, size)
    raise DataError(f"retrieval_embedded: size={size} too small to draw a {key}")


def make_item(
    item_id: str,
    group: str,
    kind: str,
    key: str,
    word: str,
    rng: np.random.Generator,
    size: int,
    title_dropout: float,
    meta: dict,
) -> RetrievalItem:
    """One item of a group; every random draw comes from ``rng``."""
    image = render_concept(kind, key, rng, size)
    title = TITLES[kind][int(rng.integers(3))].format(c=concept_words(kind, key))
    keep_title = rng.random() >= title_dropout
    audio = speak(
        word, VOICES[int(rng.integers(len(VOICES)))], SPEEDS[int(rng.integers(3))], PITCHES[int(rng.integers(3))]
    )
    return RetrievalItem(
        item_id,
        text=title if keep_title else None,
        image=image,
        audio=audio,
        sample_rate=SAMPLE_RATE,
        group=group,
        meta=meta,
    )


def groups(
    seed: int,
    n_twins: int,
    n_single: int,
    concept_pool: list[tuple[str, str]] | None = None,
    words: tuple[str, ...] = WORDS,
) -> list[dict]:
    """Group plans: {"group", "kind", "key", "word", "twin" (other group id or None), "subset"}."""
    rng = np.random.default_rng([seed, 0])
    pool = concept_pool or concepts()
    if n_twins + n_single > len(pool):
        raise DataError(f"retrieval_embedded: {n_twins} twin + {n_single} single concepts, only {len(pool)} exist")
    order = rng.permutation(len(pool))
    plans = []
    for i, c in enumerate(order[: n_twins + n_single]):
        kind, key = pool[c]
        twin = i < n_twins
        picked = rng.choice(len(words), size=2 if twin else 1, replace=False)
        gids = [f"g{len(plans) + j:03d}" for j in range(len(picked))]
        for j, w in enumerate(picked):
            plans.append(
                {
                    "group": gids[j],
                    "kind": kind,
                    "key": key,
                    "word": words[w],
                    "twin": gids[1 - j] if twin else None,
                    "subset": "audio" if twin else "visual",
                }
            )
    return plans


@register_loader("retrieval_embedded", kind="retrieval")
def generate(
    seed: int = 0, n_twins: int = 12, n_single: int = 24, members: int = 4, size: int = 32, title_dropout: float = 0.2
) -> RetrievalData:
    """Items (``members`` per group) and two queries per group; shapes in the module doc."""
    if members < 2:
        raise DataError(f"retrieval_embedded: members={members} must be >= 2 (a group is the i2i relevance)")
    plans = groups(seed, n_twins, n_single)
    items, queries = [], []
    for g, plan in enumerate(plans):
        rng = np.random.default_rng([seed, 1, g])  # one stream per group: groups don't shift each other
        meta = {"subset": plan["subset"], "concept": plan["key"], "word": plan["word"]}
        items += [
            make_item(
                f"{plan['group']}-{m}",
                plan["group"],
                plan["kind"],
                plan["key"],
                plan["word"],
                rng,
                size,
                title_dropout,
                meta,
            )
            for m in range(members)
        ]
    by_group = {p["group"]: [it.id for it in items if it.group == p["group"]] for p in plans}
    for plan in plans:
        rel = {i: 2 for i in by_group[plan["group"]]}
        if plan["twin"]:
            rel.update({i: 1 for i in by_group[plan["twin"]]})
        for t, template in enumerate(QUERIES[plan["kind"]]):
            text = template.format(c=concept_words(plan["kind"], plan["key"]))
            if plan["twin"]:
                text += f", where someone says {plan['word']}"
            queries.append(
                RetrievalQuery(
                    f"{plan['group']}-q{t}",
                    text=text,
                    relevant=rel,
                    meta={"subset": plan["subset"], "concept": plan["key"], "word": plan["word"]},
                )
            )
    return RetrievalData(items, queries)
