"""Visual reasoning: (prompt, images) -> n generated completions, graded by the task's grader (``strict`` or
``honeybee``, harness.metrics.reasoning). The prompt follows the task's protocol: ``plain`` builds it from the
question and options; ``honeybee`` / ``native`` take the one the public-benchmark reader built (harness/protocols/)."""

from __future__ import annotations

import hashlib
import json

import numpy as np

from harness.adapters import Reasoner
from harness.data.reasoning_embedded import ReasoningSample
from harness.kinds.base import AdapterContractError, Task
from harness.metrics import reasoning


def build_prompt(sample: ReasoningSample, suffix: str) -> str:
    """The question, then one "(A) option" line per choice, then the task's prompt suffix."""
    lines = [sample.question]
    if sample.choices:
        lines += [f"({chr(ord('A') + k)}) {choice}" for k, choice in enumerate(sample.choices)]
    if suffix:
        lines.append(suffix)
    return "\n".join(lines)


class ReasoningTask(Task):
    kind = "reasoning"
    contract = Reasoner
    info_metrics = ("generated_tokens",)  # adapters that count tokens report them in last_info

    def __init__(self, spec, samples: list[ReasoningSample]):
        super().__init__(spec, samples)
        protocol = spec.options.protocol
        if protocol != "plain":
            missing = next((s.id for s in samples if protocol not in s.prompts), None)
            if missing is not None:
                raise ValueError(
                    f"options.protocol {protocol!r}: loader {spec.source.loader!r} builds no such "
                    f"prompt (sample {missing!r}); use protocol: plain"
                )
        # the grader's name and version are part of the task hash: a change in grading is a new task version
        self.scoring_version = (type(self).scoring_version, spec.options.grader, reasoning.GRADERS[spec.options.grader])

    def sample_digest(self, s: ReasoningSample) -> bytes:
        # the prompt text itself is hashed: a change of template (or protocol) is a new task version
        h = hashlib.sha256(
            json.dumps(
                [s.id, s.question, s.answer, s.choices, s.category, s.difficulty, self.prompt_text(s), s.mcq]
            ).encode()
        )
        for img in s.images:
            h.update(str(img.shape).encode())
            h.update(np.ascontiguousarray(img).tobytes())
        return h.digest()

    def prompt_text(self, s: ReasoningSample) -> str:
        protocol = self.spec.options.protocol
        return build_prompt(s, self.spec.options.prompt_suffix) if protocol == "plain" else s.prompts[protocol]

    def prompt(self, s: ReasoningSample) -> dict:
        return {"text": self.prompt_text(s), "images": list(s.images)}

    def predict(self, adapter: Reasoner, batch: list[ReasoningSample], seeds: list[int]) -> list[list[str]]:
        n = self.spec.options.n
        outputs = adapter.generate(
            [self.prompt(s) for s in batch], list(seeds), n=n, max_new_tokens=self.spec.options.max_new_tokens
        )
        if not isinstance(outputs, (list, tuple)) or len(outputs) != len(batch):
            if isinstance(outputs, (list, tuple)):
                got, first = len(outputs), batch[min(len(outputs), len(batch) - 1)].id  # first sample left without
            else:
                got, first = type(outputs).__name__, batch[0].id
            raise AdapterContractError(
                f"returned {got} completion lists for a batch of {len(batch)} (first unmatched sample {first!r})"
            )
        checked = []
        for s, completions in zip(batch, outputs):
            if not isinstance(completions, (list, tuple)) or len(completions) != n:
                got = len(completions) if isinstance(completions, (list, tuple)) else type(completions).__name__
                raise AdapterContractError(f"returned {got} completions for sample {s.id!r}, expected n={n}")
            bad = [type(c).__name__ for c in completions if not isinstance(c, str)]
            if bad:
                raise AdapterContractError(f"returned a {bad[0]} completion for sample {s.id!r}, expected str")
            checked.append(list(completions))
        return checked

    def score(self, batch: list[ReasoningSample], outputs: list[list[str]]) -> list[dict[str, float]]:
        grader = self.spec.options.grader
        return [
            reasoning.score_completions(out, s.answer, s.choices, grader=grader, mcq=s.mcq)
            for s, out in zip(batch, outputs)
        ]

    def encode(self, output: list[str]) -> bytes:
        return json.dumps(output, ensure_ascii=False).encode()

    def decode(self, blob: bytes) -> list[str]:
        return json.loads(blob.decode())

    def subsets(self, sample: ReasoningSample) -> list[str]:
        return [f"category={sample.category}", f"difficulty={sample.difficulty}"]


TASK_CLASS = ReasoningTask
