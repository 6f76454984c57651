"""Decontamination of a recipe's training rows against the evaluation suites (HoneyBee, arXiv 2510.12225, removed
training images perceptually identical to evaluation images before curation).

- Images: the perceptual hash (``imagehash.phash``, 64 bits) of every training image is compared with the hash of
  every image of the evaluation suites; a Hamming distance <= ``phash_distance`` is a match. The training image
  is hashed as its source renders it, before perception edits (a rotated copy of an eval image is still one).
- Texts: a text-only training question is compared with every text-only evaluation question by normalised word
  n-gram overlap (lower case, punctuation dropped): the share of the training question's n-grams found in one
  evaluation question; >= ``min_overlap`` is a match. An image question's text is a template shared by thousands
  of different pictures, so it is not compared: its contamination is its image.

In this embedded world the overlap is real, not a hashing artefact: many eval clocks and rectangles are
pixel-identical to training ones (the generators have few distinct times and sizes).

The evaluation index (hashes and n-grams of the suites' samples) is cached under ``<cache>/decontamination``,
keyed by the suites' content hashes, so only the first build after a suite changes renders the suites.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.errors import HarnessError
from harness.results import atomic_write_text

_WORD = re.compile(r"[a-z0-9]+")
_MEMO: dict = {}


def phash64(image: np.ndarray) -> int:
    """64-bit perceptual hash of a uint8 (H, W, 3) image, as an int."""
    try:
        import imagehash
    except ImportError:
        raise HarnessError(
            'recipe decontamination needs imagehash (pip install "harness[models]"), or set '
            "decontamination: {enabled: false} in the recipe"
        ) from None
    from PIL import Image

    # The hash's 64 bits in imagehash's own order (what int(str(h), 16) gives, without the hex round trip).
    return int.from_bytes(np.packbits(imagehash.phash(Image.fromarray(image)).hash.flatten()).tobytes(), "big")


def ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    """Normalised word n-grams; a text shorter than n words is one gram (itself)."""
    words = _WORD.findall(text.lower())
    if len(words) < n:
        return {tuple(words)} if words else set()
    return {tuple(words[k : k + n]) for k in range(len(words) - n + 1)}


@dataclass
class Match:
    kind: str  # "image" or "text"
    eval_id: str  # "task:sample id"
    score: float  # Hamming distance (image) or n-gram overlap (text)


class EvalIndex:
    """Hashes of the evaluation images and n-grams of the text-only evaluation questions."""

    def __init__(
        self,
        suites: dict[str, str],
        image_ids: list[str],
        hashes: np.ndarray,
        text_ids: list[str],
        texts: list[str],
        n: int,
    ):
        self.suites, self.image_ids, self.hashes = suites, image_ids, hashes.astype(np.uint64)
        self.text_ids, self.n = text_ids, n
        self._grams = [ngrams(t, n) for t in texts]
        self._by_gram: dict[tuple[str, ...], list[int]] = {}
        for j, grams in enumerate(self._grams):
            for g in grams:
                self._by_gram.setdefault(g, []).append(j)
        self._texts = texts

    @classmethod
    def build(cls, suites: list[str], n: int, cache: Path) -> EvalIndex:
        """Index every sample of the tasks in ``suites`` (task or group names), cached on disk by their content
        hashes and in memory for the process (a process building many recipes renders the suites once)."""
        key = (tuple(suites), n)
        if key not in _MEMO:
            _MEMO[key] = cls._build(suites, n, cache)
        return _MEMO[key]

    @classmethod
    def _build(cls, suites: list[str], n: int, cache: Path) -> EvalIndex:
        from harness import registry
        from harness.spec import stable_hash

        entries = registry.resolve(",".join(suites), registry.discover_tasks())
        tasks = [registry.build_task(e) for e in entries]
        hashes = {t.name: t.content_hash() for t in tasks}
        path = Path(cache) / "decontamination" / f"{stable_hash(hashes)[:16]}.json"
        if path.is_file():
            doc = json.loads(path.read_text())
        else:
            doc = {"suites": hashes, "image_ids": [], "hashes": [], "text_ids": [], "texts": []}
            for t in tasks:
                for s in t.samples:
                    if s.images:
                        for k, image in enumerate(s.images):
                            doc["image_ids"].append(f"{t.name}:{s.id}" + (f"#{k}" if k else ""))
                            doc["hashes"].append(f"{phash64(image):016x}")
                    else:
                        doc["text_ids"].append(f"{t.name}:{s.id}")
                        doc["texts"].append(s.question)
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, json.dumps(doc))
        values = np.array([int(h, 16) for h in doc["hashes"]], dtype=np.uint64)
        return cls(doc["suites"], doc["image_ids"], values, doc["text_ids"], doc["texts"], n)

    def image_match(self, image: np.ndarray, max_distance: int) -> Match | None:
        if not self.hashes.size:
            return None
        d = np.bitwise_count(np.bitwise_xor(self.hashes, np.uint64(phash64(image))))
        j = int(d.argmin())
        return Match("image", self.image_ids[j], int(d[j])) if d[j] <= max_distance else None

    def text_match(self, text: str, min_overlap: float) -> Match | None:
        grams = ngrams(text, self.n)
        if not grams:
            return None
        hits = Counter(j for g in grams for j in self._by_gram.get(g, ()))
        if not hits:
            return None
        j, k = hits.most_common(1)[0]
        overlap = k / len(grams)
        return Match("text", self.text_ids[j], round(overlap, 4)) if overlap >= min_overlap else None
