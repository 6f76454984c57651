"""Batched, seeded decoding shared by the hf-vlm and hf-lm adapters.

Two properties the harness needs and that ``model.generate(do_sample=True)`` does not give:

* **per-sample seeds in a batch**: HF samples every row from one global RNG, so a sample's completion depends on
  its batch neighbours. Here sampling happens in a logits processor with one ``torch.Generator`` per row (seeded
  from the sample seed and the completion index); ``generate`` itself runs greedy and just takes the drawn token.
* **batch-size-independent greedy output**: prompts are left-padded with an attention mask, and HF derives
  position ids from that mask, so a padded row sees exactly the positions it would see alone.

Decoding settings come from the adapter's arguments only: the checkpoint's ``generation_config`` sampling defaults
(temperature, top_p, repetition penalty, ...) are deliberately not inherited, so the recorded model args are the
whole story.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")
CONFIG_SUFFIXES = (".json", ".jinja", ".model", ".txt", ".py")


class HFArgs(BaseModel):
    """--model_args shared by hf-vlm and hf-lm (all of them are recorded in the run spec and the fingerprint)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    pretrained: str  # a local folder written by save_pretrained (no hub access here), or a hub id when online
    revision: str | None = None
    dtype: Literal["float32", "bfloat16", "float16", "auto"] = "float32"
    device: str = "cpu"
    max_new_tokens: int | None = Field(None, ge=1)  # overrides the task's max_new_tokens when given
    do_sample: bool = False
    temperature: float = Field(1.0, gt=0)
    top_p: float = Field(1.0, gt=0, le=1)
    top_k: int = Field(0, ge=0)  # 0 = off
    system_prompt: str = ""
    chat_template: str = ""  # path to a .jinja file replacing the checkpoint's chat template
    trust_remote_code: bool = False
    attn_implementation: str | None = None  # e.g. "eager"; None = transformers' default


def derive_seed(seed: int, index: int) -> int:
    """Seed of completion ``index`` of a sample: independent streams for the n completions."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{index}".encode()).digest()[:8], "little") >> 1


def make_sampler(seeds: list[int], temperature: float, top_p: float, top_k: int):
    """A LogitsProcessor that samples row i with its own generator seeded by ``seeds[i]`` and returns logits that
    are -inf everywhere except the drawn token (so greedy decoding picks it). seeds: one per row of the expanded
    batch (prompt-major: prompt 0's n completions first)."""
    import torch
    from transformers import LogitsProcessor, TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

    warpers = [TemperatureLogitsWarper(temperature)] if temperature != 1.0 else []
    if top_k:
        warpers.append(TopKLogitsWarper(top_k))
    if top_p < 1.0:
        warpers.append(TopPLogitsWarper(top_p))
    generators = [torch.Generator().manual_seed(int(s)) for s in seeds]

    class SeededSampler(LogitsProcessor):
        def __call__(self, input_ids, scores):  # scores: [rows, vocab]
            scores = scores.float()
            for w in warpers:
                scores = w(input_ids, scores)
            probs = torch.softmax(scores, dim=-1).cpu()
            picks = torch.stack([torch.multinomial(probs[i], 1, generator=g) for i, g in enumerate(generators)])
            out = torch.full_like(scores, float("-inf"))
            return out.scatter_(1, picks.to(scores.device), 0.0)

    return SeededSampler()


def eos_ids(model, tokenizer) -> list[int]:
    eos = model.generation_config.eos_token_id
    if eos is None:
        eos = tokenizer.eos_token_id
    return [e for e in (eos if isinstance(eos, (list, tuple)) else [eos]) if e is not None]


def row_seeds(seeds: list[int], n: int) -> list[int]:
    """One seed per row of a batch whose prompts are each repeated n times (prompt-major)."""
    return [derive_seed(s, j) for s in seeds for j in range(n)]


def generate_ids(
    model,
    inputs: dict,
    seeds: list[int],
    max_new_tokens: int,
    args: HFArgs,
    eos: list[int],
    pad_id: int,
    sample: bool | None = None,
):
    """Run ``model.generate`` on a left-padded batch. inputs: processor output (input_ids [R, L], attention_mask
    [R, L], pixel tensors ...), one row per completion (callers repeat a prompt n times: HF refuses
    num_return_sequences without its own sampling); seeds: one per row (see ``row_seeds``). Returns
    (new token ids [R, T], token counts [R]); a count includes the EOS token and nothing after it."""
    import torch
    from transformers import GenerationConfig, LogitsProcessorList

    sample = args.do_sample if sample is None else sample
    config = GenerationConfig(
        max_new_tokens=max_new_tokens, do_sample=False, num_beams=1, pad_token_id=pad_id, eos_token_id=eos or None
    )
    processors = LogitsProcessorList()
    if sample:
        processors.append(make_sampler(seeds, args.temperature, args.top_p, args.top_k))
    with torch.inference_mode():
        out = model.generate(**inputs, generation_config=config, logits_processor=processors)
    new = out[:, inputs["input_ids"].shape[1] :]
    counts = []
    for row in new.tolist():
        stop = next((i for i, t in enumerate(row) if t in eos), None)
        counts.append(len(row) if stop is None else stop + 1)
    return new, counts


def decode(tokenizer, new_ids, counts: list[int]) -> list[str]:
    """Token ids [rows, T] -> text, each row cut at its count (EOS and padding dropped)."""
    return [tokenizer.decode(row[:c], skip_special_tokens=True).strip() for row, c in zip(new_ids.tolist(), counts)]


def torch_dtype(name: str):
    import torch

    return "auto" if name == "auto" else getattr(torch, name)


def read_chat_template(path: str) -> str | None:
    return Path(path).read_text() if path else None


def fingerprint(args: HFArgs, template: str | None, cls_name: str) -> str:
    """sha256 over the adapter class, its args, the chat template and every config and weight file of a local
    checkpoint (bytes, streamed). A hub id is identified by its name and revision only."""
    h = hashlib.sha256(json.dumps([cls_name, args.model_dump(), template or ""], sort_keys=True).encode())
    root = Path(args.pretrained)
    if root.is_dir():
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            if path.suffix in WEIGHT_SUFFIXES + CONFIG_SUFFIXES:
                h.update(str(path.relative_to(root)).encode())
                with path.open("rb") as f:
                    for chunk in iter(lambda: f.read(1 << 24), b""):
                        h.update(chunk)
    return h.hexdigest()[:16]
