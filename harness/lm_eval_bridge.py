"""lm-evaluation-harness bridge: any harness Reasoner as an lm-eval model, our text-only suite as an lm-eval task,
and lm-eval results recorded in our store (so they sit on the same leaderboard as native runs).

    from harness import lm_eval_bridge as bridge          # registers lm-eval model "harness"
    include = bridge.lm_eval_include_dir()                # tasks/reasoning/lm_eval: an lm-eval include path
    results = lm_eval.simple_evaluate(model="harness", model_args="model=hf-lm,pretrained=/ckpt",
                                      tasks=["harness_reasoning_text"], log_samples=True,
                                      task_manager=TaskManager(include_path=str(include)))
    bridge.record_lm_eval_results(results, RunStore("results/harness.sqlite"), lm)

CLI: ``python -m harness.lm_eval_bridge run --model harness --model_args model=constant --tasks ...`` (lm-eval's own
CLI, with this module imported first so the "harness" model is registered).

Requests carry their doc, so a sample's seed is derived from the run seed and the sample id exactly as in
``harness eval``: the same adapter gives the same completions through either path. The engine never imports
baselines: adapters are resolved through the registry (entry points).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

# lm-eval registers its own models (lazily) only when its registry is empty; registering ours first would hide
# them ("hf", "vllm", ...) in this process, so load their placeholders before adding "harness".
import lm_eval.models  # noqa: F401
from lm_eval.api.model import LM
from lm_eval.api.registry import register_model

from harness import resources
from harness.adapters import Reasoner, adapter_class
from harness.errors import HarnessError

LM_EVAL_TASKS = resources.tasks_dir() / "reasoning" / "lm_eval"
_NO_LOGLIKELIHOOD = (
    "the harness bridge wraps a Reasoner, which only generates text: use generate_until tasks "
    "(output_type: generate_until), not loglikelihood/multiple_choice ones"
)


@register_model("harness")
class HarnessLM(LM):
    """model_args: ``model=NAME`` (a registered Reasoner or module:Class), ``seed=N``, then the adapter's own args."""

    def __init__(
        self, model: str, seed: int = 0, batch_size: int | str = 8, max_batch_size=None, device=None, **adapter_args
    ):
        super().__init__()
        cls = adapter_class(str(model))
        if not issubclass(cls, Reasoner):
            raise HarnessError(f"lm-eval bridge: model {model!r} is a {cls.kind} adapter, not a Reasoner")
        self.model_name = str(model)
        # lm-eval has already turned "true"/"3" into Python values; the adapter expects --model_args strings.
        self.adapter_args = {k: _as_arg(v) for k, v in adapter_args.items()}
        self.adapter = cls(**self.adapter_args)
        self.seed = int(seed)
        self.batch_size = int(batch_size) if str(batch_size).isdigit() else 8  # "auto" -> our default

    def fingerprint(self) -> str:
        return self.adapter.fingerprint()

    def generate_until(self, requests, disable_tqdm: bool = False) -> list[str]:
        """requests: Instances with args (context, gen_kwargs {until, max_gen_toks, ...}); returns one completion per
        request, cut at the first stop string. Batched by equal max_gen_toks."""
        from harness.runner import sample_seed

        out: list[str | None] = [None] * len(requests)
        groups: dict[int, list[int]] = {}
        for i, req in enumerate(requests):
            groups.setdefault(int(req.args[1].get("max_gen_toks", 512)), []).append(i)
        for max_toks, idx in groups.items():
            for start in range(0, len(idx), self.batch_size):
                chunk = idx[start : start + self.batch_size]
                prompts = [{"text": requests[i].args[0], "images": []} for i in chunk]
                seeds = [sample_seed(self.seed, _doc_id(requests[i])) for i in chunk]
                completions = self.adapter.generate(prompts, seeds, n=1, max_new_tokens=max_toks)
                for i, c in zip(chunk, completions):
                    context, gen_kwargs = requests[i].args[0], requests[i].args[1]
                    out[i] = _cut(c[0], gen_kwargs.get("until") or [])
                    self.cache_hook.add_partial("generate_until", (context, gen_kwargs), out[i])
        return out

    def loglikelihood(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError(_NO_LOGLIKELIHOOD)

    def loglikelihood_rolling(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError(_NO_LOGLIKELIHOOD)


def _as_arg(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _doc_id(request) -> str:
    """Our sample id when the doc carries one (our tasks), else the context itself (other lm-eval tasks)."""
    doc = getattr(request, "doc", None) or {}
    return str(doc.get("id", request.args[0]))


def _cut(text: str, until: list[str]) -> str:
    for stop in until:
        if stop and stop in text:
            text = text[: text.index(stop)]
    return text


def lm_eval_include_dir(dest: str | Path | None = None) -> Path:
    """The lm-eval include path holding our lm-eval task files (tasks/reasoning/lm_eval; the harness registry
    skips ``lm_eval`` folders). With ``dest``, a copy there (for a writable or relocated include path)."""
    if dest is None:
        return LM_EVAL_TASKS
    dest = Path(dest)
    shutil.copytree(LM_EVAL_TASKS, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def record_lm_eval_results(
    results: dict,
    store,
    lm: HarnessLM,
    harness_task: str = "reasoning/text",
    lm_task: str = "harness_reasoning_text",
    limit: int | None = None,
    include=(),
):
    """Write an lm-eval run of ``lm_task`` (results of ``simple_evaluate(..., log_samples=True)``) into ``store``
    as a run of ``harness_task``: a runs row (model args + via=lm-eval), per-sample records and aggregates with
    bootstrap CIs, so it shows on the same leaderboard. ``limit``: the --limit lm-eval ran with (limited runs
    are kept off leaderboards, as for harness eval). Returns the RunSpec."""
    from importlib.metadata import version

    from harness import registry
    from harness.kinds.reasoning import ReasoningTask
    from harness.runner import finish, provenance
    from harness.spec import RunSpec
    from harness.store import Record

    if lm_task not in results.get("samples", {}):
        raise HarnessError(f"lm-eval results hold no per-sample logs for {lm_task!r}: run with log_samples=True")
    task = registry.build_task(registry.resolve(harness_task, registry.discover_tasks(tuple(include)))[0])
    if not isinstance(task, ReasoningTask):
        raise HarnessError(f"{harness_task}: not a reasoning task")
    records = {}
    for entry in results["samples"][lm_task]:
        sid = str(entry["doc"]["id"])
        response = entry["filtered_resps"][0] if entry.get("filtered_resps") else entry["resps"][0][0]
        scores = {m: float(entry[m]) for m in entry.get("metrics", []) if m in entry}  # all, as harness eval stores
        output = json.dumps([response], ensure_ascii=False).encode()
        records[sid] = Record(sid, output, scores, {"via": "lm-eval"}, None)
    units = [u for u in task.units(limit) if u.id in records]
    unknown = sorted(set(records) - {u.id for u in task.units(limit)})
    if unknown:
        raise HarnessError(f"lm-eval sample {unknown[0]!r} is not in harness task {harness_task!r} (limit={limit})")
    args = {**lm.adapter_args, "via": "lm-eval"}
    spec = RunSpec(
        task=task.name,
        task_hash=task.content_hash(),
        model=lm.model_name,
        model_args=tuple(sorted(args.items())),
        model_fingerprint=lm.fingerprint(),
        seed=lm.seed,
        limit=limit,
    )
    prov = {
        **provenance(),
        "lm_eval": {
            "version": version("lm-eval"),
            "task": lm_task,
            "config": json.loads(json.dumps(results.get("configs", {}).get(lm_task, {}), default=str)),
        },
    }
    store.start_run(spec, task.kind, prov)
    store.put_records(spec.cache_key(), [records[u.id] for u in units])
    finish(store, spec.run_id(), task, units, records, spec.seed, {})
    return spec


if __name__ == "__main__":  # lm-eval's CLI with the "harness" model registered
    from lm_eval.__main__ import cli_evaluate

    cli_evaluate()
