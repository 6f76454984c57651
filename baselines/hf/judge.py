"""``hf-vlm`` judge: a local transformers image-text-to-text checkpoint answering a judge protocol's requests
(e.g. Qwen2.5-VL-72B-Instruct-AWQ, GEdit-Bench's open judge: greedy, 512 new tokens — the defaults here).

It reuses the ``hf-vlm`` adapter's loading (AutoModelForImageTextToText + AutoProcessor + the checkpoint's chat
template) and its batched, left-padded greedy decoding; the message keeps the protocol's part order (images
before text for the Qwen layout, text before images for the GPT layout).
"""

from __future__ import annotations

import io
import time

import numpy as np
from pydantic import Field

from harness.judges import register_judge
from harness.judges.base import Judge, JudgeReply
from harness_baselines.hf import generation as gen
from harness_baselines.hf.vlm import HFVLM


class HFVLMJudgeArgs(gen.HFArgs):
    max_new_tokens: int | None = Field(512, ge=1)
    batch_size: int = Field(1, ge=1)


@register_judge("hf-vlm")
class HFVLMJudge(Judge):
    """A local transformers VLM (pretrained=PATH or hub id), greedy by default."""

    Args = HFVLMJudgeArgs
    transport_args = ("batch_size", "device")

    def __init__(self, **judge_args):
        super().__init__(**judge_args)
        self._vlm = HFVLM(**{k: v for k, v in self.args.model_dump().items() if k != "batch_size"})

    def fingerprint(self) -> str:
        return self._vlm.fingerprint()  # weights + chat template + decoding args

    def _render(self, parts) -> str:
        content = [{"type": "image"} if p.kind == "image" else {"type": "text", "text": p.text} for p in parts]
        return self._vlm._processor.apply_chat_template(
            [{"role": "user", "content": content}],
            add_generation_prompt=True,
            tokenize=False,
            chat_template=self._vlm.chat_template(),
        )

    def _answer(self, batch) -> list[str]:
        from PIL import Image

        model = self._vlm.load()
        texts = [self._render(req.parts) for req in batch]
        images = [
            np.asarray(Image.open(io.BytesIO(p.data)).convert("RGB"))
            for req in batch
            for p in req.parts
            if p.kind == "image"
        ]
        proc = self._vlm._processor
        inputs = proc(
            text=texts, images=[Image.fromarray(i) for i in images] or None, padding=True, return_tensors="pt"
        )
        inputs = {k: v.to(self.args.device) if hasattr(v, "to") else v for k, v in inputs.items()}
        tok = self._vlm.tokenizer
        new, counts = gen.generate_ids(
            model,
            inputs,
            gen.row_seeds([0] * len(batch), 1),
            self.args.max_new_tokens,
            self.args,
            gen.eos_ids(model, tok),
            tok.pad_token_id,
        )
        return gen.decode(tok, new, counts)

    def complete(self, requests):
        name = self.args.pretrained + (f"@{self.args.revision}" if self.args.revision else "")
        batch = []
        for req in [*requests, None]:
            if req is not None:
                batch.append(req)
            if batch and (req is None or len(batch) == self.args.batch_size):
                start = time.monotonic()
                try:
                    texts = self._answer(batch)
                    replies = [JudgeReply("ok" if t.strip() else "refusal", text=t, model=name) for t in texts]
                except Exception as e:  # noqa: BLE001 — a failing generation is this request's transport failure
                    replies = [JudgeReply("transport", error=f"{type(e).__name__}: {e}"[:300], model=name)] * len(batch)
                latency = (time.monotonic() - start) / len(batch)
                for r, reply in zip(batch, replies):
                    reply.latency = latency
                    yield r, reply
                batch = []
