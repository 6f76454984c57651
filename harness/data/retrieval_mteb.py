"""Read an MTEB retrieval dataset from a local snapshot of its Hugging Face repo (parquet), as MTEB loads it.

MTEB's HF loader (embeddings-benchmark/mteb, mteb/abstasks/retrieval_dataset_loaders.py, ``RetrievalDatasetLoader``;
AbsTaskRetrieval in 1.x) reads three configs of the repo: ``corpus`` (columns ``_id``, ``title``, ``text``; its
first split), ``queries`` (``_id``, ``text``; first split) and ``default`` (the qrels: ``query-id``,
``corpus-id``, ``score``; the evaluated split, e.g. ``test``). Multilingual / multi-subset repos prefix them:
``{subset}-corpus``, ``{subset}-queries``, ``{subset}-qrels``. Ids are cast to strings, scores to numbers (kept as
integers here, as pytrec_eval needs).

Which parquet files make a config is what ``datasets`` reads from the repo card: the YAML header of README.md
(``configs: - config_name: corpus, data_files: - split: corpus, path: corpus/*``). Without a card entry the
conventional folder is used (``{config}/*.parquet``, the default config in ``data/``), the split named by the file
prefix (``test-00000-of-00001.parquet``).

As in BEIR, the title is joined to the text, queries without judgments are dropped, and judgments naming an id
the data lacks are skipped rows (``dangling``, see retrieval_local.judgments).
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Literal

import yaml

from harness.data import register_loader
from harness.data.jsonl import one_line
from harness.data.retrieval_local import judgments
from harness.data.skips import SkippedRows, describe
from harness.errors import DataError
from harness.kinds.retrieval import RetrievalData, RetrievalItem, RetrievalQuery


def _card_configs(folder: Path) -> dict[str, dict[str, list[str]]]:
    """{config name: {split: [path globs]}} from README.md's YAML header ({} when there is none)."""
    readme = folder / "README.md"
    if not readme.is_file():
        return {}
    text = readme.read_text(encoding="utf-8", errors="replace")
    if not text.startswith("---"):
        return {}
    try:
        header = yaml.safe_load(text.split("---", 2)[1]) or {}
    except yaml.YAMLError as e:
        raise DataError(f"{readme}: malformed YAML header ({one_line(e)})") from None
    out: dict[str, dict[str, list[str]]] = {}
    for config in header.get("configs") or []:
        files = config.get("data_files") or []
        if isinstance(files, (str, list)) and not (isinstance(files, list) and files and isinstance(files[0], dict)):
            files = [{"split": "train", "path": files}]
        out[config.get("config_name", "default")] = {
            f["split"]: [f["path"]] if isinstance(f["path"], str) else list(f["path"]) for f in files
        }
    return out


def _config_files(folder: Path, configs: dict, name: str) -> dict[str, list[Path]]:
    """{split: parquet files} of one config."""
    every = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.parquet"))
    if name in configs:
        return {
            split: [folder / p for p in every if any(fnmatch.fnmatch(p, g) for g in globs)]
            for split, globs in configs[name].items()
        }
    sub = "data" if name == "default" else name
    out: dict[str, list[Path]] = {}
    for p in every:
        if p.startswith(sub + "/"):
            out.setdefault(Path(p).name.split("-")[0], []).append(folder / p)
    return out


def _table(folder: Path, configs: dict, name: str, split: str | None, columns: list[str]):
    """(file, rows as dicts) of a config's split (``None``: its first split, as MTEB takes)."""
    import pyarrow.parquet as pq

    splits = _config_files(folder, configs, name)
    if not splits or not any(splits.values()):
        raise DataError(
            f"{folder}: no parquet files for config {name!r} (looked in README.md's configs and "
            f"{'data' if name == 'default' else name}/)"
        )
    split = split if split is not None else next(iter(splits))
    if split not in splits or not splits[split]:
        raise DataError(f"{folder}: config {name!r} has no split {split!r} (has: {', '.join(splits)})")
    rows = []
    for file in splits[split]:
        try:
            table = pq.read_table(file)
        except Exception as e:  # noqa: BLE001 — pyarrow raises several types for a corrupt file
            raise DataError(f"{file}: cannot read parquet ({one_line(e)})") from None
        missing = [c for c in columns if c not in table.column_names]
        if missing:
            raise DataError(f"{file}: missing column {missing[0]!r} (has: {', '.join(table.column_names)})")
        rows += [(f"{file.relative_to(folder)}:row {n}", r) for n, r in enumerate(table.to_pylist())]
    return rows


@register_loader("retrieval_mteb", kind="retrieval")
def load_mteb(
    path: str, split: str = "test", subset: str = "", dangling: Literal["skip", "keep"] = "skip"
) -> RetrievalData:
    """Corpus, judged queries and qrels of an MTEB retrieval repo snapshot (layout in the module doc)."""
    folder = Path(path)
    if not folder.is_dir():
        raise DataError(f"{folder}: dataset folder not found")
    configs = _card_configs(folder)
    names = [f"{subset}-corpus", f"{subset}-queries", f"{subset}-qrels"] if subset else ["corpus", "queries", "default"]
    corpus = _table(folder, configs, names[0], None, ["_id", "text"])
    queries = _table(folder, configs, names[1], None, ["_id", "text"])
    qrels = _table(folder, configs, names[2], split, ["query-id", "corpus-id", "score"])
    items, seen = [], set()
    for where, r in corpus:
        cid = str(r["_id"])
        if cid in seen:
            raise DataError(f"{folder / where}: duplicate corpus id {cid!r}")
        seen.add(cid)
        text = " ".join(t for t in (r.get("title"), r.get("text")) if t) or None
        if text is None:
            raise DataError(f"{folder / where}: corpus id {cid!r} has no text")
        items.append(RetrievalItem(cid, text=text))
    qtext = {str(r["_id"]): r["text"] for _, r in queries}

    def rows():
        for where, r in qrels:
            try:
                rel = int(float(r["score"]))
            except (TypeError, ValueError):
                raise DataError(f"{folder / where}: score {r['score']!r} is not a number") from None
            yield where, str(r["query-id"]), str(r["corpus-id"]), rel

    judged, skipped, kept = judgments(rows(), set(qtext), seen, dangling)
    out = [RetrievalQuery(qid, text=qtext[qid], relevant=judged[qid]) for qid in qtext if qid in judged]
    if not out:
        raise DataError(f"{folder}: no judgments in split {split!r}" + (f" ({describe(skipped)})" if skipped else ""))
    return RetrievalData(items, out, skipped=SkippedRows(skipped), absent_judged=frozenset(kept))
