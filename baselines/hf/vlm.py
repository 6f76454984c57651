"""``hf-vlm``: any transformers image-text-to-text checkpoint (LLaVA-style, Qwen2/2.5-VL, InternVL-HF, Perception-LM
(the HoneyBee checkpoints), ...) through ``AutoModelForImageTextToText`` + ``AutoProcessor`` and the checkpoint's
chat template.

``shared_caption=true`` is HoneyBee's test-time scaling (arXiv 2510.12225; facebookresearch/HoneyBee_VLM ships no
code for it, its eval/eval_plm_multi_hf.py decodes one answer per question). With ``caption_source=first_answer``
(default, as the paper does it) the first of the n completions is a full caption-and-solve answer; its caption — the
text up to the first ``caption_end`` marker — becomes the start of the assistant turn of the other n - 1, which only
write the solution. An answer without the marker leaves the other n - 1 independent. ``caption_source=prompted``
is the older behaviour: a separate greedy caption ("Describe the image in detail.") decoded once per sample and
prefixed to the question. Generated-token counts are kept per sample in ``last_info`` so the modes can be compared
on cost.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from harness.adapters import Reasoner, register_adapter
from harness_baselines.hf import generation as gen


class HFVLMArgs(gen.HFArgs):
    shared_caption: bool = False
    caption_source: Literal["first_answer", "prompted"] = "first_answer"
    # first_answer: where the caption of a caption-and-solve answer ends (the paper names no marker; a model
    # trained with one, e.g. "</caption>", should set it; the default cuts after the first paragraph)
    caption_end: str = Field("\n\n", min_length=1)
    # prompted: the separately asked caption
    caption_prompt: str = "Describe the image in detail."
    caption_max_new_tokens: int = Field(512, ge=1)
    caption_prefix: str = "Image description: "


@register_adapter("hf-vlm")
class HFVLM(Reasoner):
    """A transformers image-text-to-text model (pretrained=PATH); batched, left-padded, per-sample seeds."""

    Args = HFVLMArgs

    def __init__(self, **model_args):
        super().__init__(**model_args)
        self._model = self._processor = None
        self._fingerprint: str | None = None
        self.last_info: list[dict] = []  # per prompt of the last generate(): token counts (see module doc)

    # --- loading ---------------------------------------------------------------------------------------------
    def load_processor(self):
        """The processor alone (tokenizer, image processor, chat template): no weights, enough to fingerprint."""
        if self._processor is None:
            from transformers import AutoProcessor

            a = self.args
            self._processor = AutoProcessor.from_pretrained(
                a.pretrained, revision=a.revision, trust_remote_code=a.trust_remote_code
            )
            self.tokenizer.padding_side = "left"  # right padding would put pads between prompt and completion
            if self.tokenizer.pad_token_id is None:
                self.tokenizer.pad_token = self.tokenizer.eos_token
        return self._processor

    def load(self):
        """Load processor and model once, when a batch must be generated (harness.adapters: lazy loading)."""
        if self._model is None:
            from transformers import AutoModelForImageTextToText

            a = self.args
            common = dict(revision=a.revision, trust_remote_code=a.trust_remote_code)
            self.load_processor()
            extra = {"attn_implementation": a.attn_implementation} if a.attn_implementation else {}
            self._model = (
                AutoModelForImageTextToText.from_pretrained(
                    a.pretrained, dtype=gen.torch_dtype(a.dtype), **common, **extra
                )
                .to(a.device)
                .eval()
            )
        return self._model

    @property
    def tokenizer(self):
        return getattr(self._processor, "tokenizer", self._processor)

    def chat_template(self) -> str | None:
        """The template in use: the chat_template arg's file, else the processor's, else the tokenizer's."""
        self.load_processor()
        return (
            gen.read_chat_template(self.args.chat_template)
            or getattr(self._processor, "chat_template", None)
            or getattr(self.tokenizer, "chat_template", None)
        )

    def fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = gen.fingerprint(self.args, self.chat_template(), type(self).__qualname__)
        return self._fingerprint

    # --- prompting -------------------------------------------------------------------------------------------
    def render(self, text: str, n_images: int) -> str:
        """The chat-formatted prompt string: [system], user turn (image placeholders, then text), assistant cue."""
        messages = []
        if self.args.system_prompt:
            messages.append({"role": "system", "content": [{"type": "text", "text": self.args.system_prompt}]})
        content = [{"type": "image"}] * n_images + [{"type": "text", "text": text}]
        messages.append({"role": "user", "content": content})
        return self._processor.apply_chat_template(
            messages, add_generation_prompt=True, tokenize=False, chat_template=self.chat_template()
        )

    def _run(self, prompts: list[dict], seeds: list[int], n: int, max_new_tokens: int, sample: bool | None = None):
        """prompts -> (texts [len(prompts) * n], token counts), prompt-major; completion j of a prompt with seed s
        draws from ``derive_seed(s, j)``."""
        return self._run_rows([p for p in prompts for _ in range(n)], gen.row_seeds(seeds, n), max_new_tokens, sample)

    def _run_rows(self, rows: list[dict], row_seeds: list[int], max_new_tokens: int, sample: bool | None = None):
        """One completion per row (a prompt dict, optionally with ``answer_start``: text the assistant turn starts
        with) with its own seed -> (texts, token counts); texts exclude ``answer_start``."""
        from PIL import Image

        model = self.load()
        texts = [self.render(p["text"], len(p.get("images") or [])) + p.get("answer_start", "") for p in rows]
        images = [Image.fromarray(img) for p in rows for img in (p.get("images") or [])]
        inputs = self._processor(text=texts, images=images or None, padding=True, return_tensors="pt")
        inputs = {k: v.to(self.args.device) if hasattr(v, "to") else v for k, v in inputs.items()}
        eos = gen.eos_ids(model, self.tokenizer)
        new, counts = gen.generate_ids(
            model, inputs, row_seeds, max_new_tokens, self.args, eos, self.tokenizer.pad_token_id, sample=sample
        )
        return gen.decode(self.tokenizer, new, counts), counts

    def generate(self, prompts, seeds, n=1, max_new_tokens: int = 512, **gen_kwargs):
        """prompts: dicts with 'text' and 'images' (uint8 (H, W, 3) each); returns n completions per prompt."""
        budget = self.args.max_new_tokens or max_new_tokens
        if self.args.shared_caption and self.args.caption_source == "first_answer" and n > 1:
            return self._generate_from_first_answer(prompts, seeds, n, budget)
        captions = [""] * len(prompts)
        caption_tokens = [0] * len(prompts)
        if self.args.shared_caption and self.args.caption_source == "prompted":
            with_images = [i for i, p in enumerate(prompts) if p.get("images")]
            if with_images:
                # The caption is greedy whatever the sampling settings: it is decoded once and shared by all n.
                asks = [{"text": self.args.caption_prompt, "images": prompts[i]["images"]} for i in with_images]
                texts, counts = self._run(
                    asks, [seeds[i] for i in with_images], 1, self.args.caption_max_new_tokens, sample=False
                )
                for i, text, count in zip(with_images, texts, counts):
                    captions[i], caption_tokens[i] = text, count
            prompts = [
                {**p, "text": f"{self.args.caption_prefix}{c}\n\n{p['text']}"} if c else p
                for p, c in zip(prompts, captions)
            ]
        texts, counts = self._run(prompts, seeds, n, budget)
        out = [texts[i * n : (i + 1) * n] for i in range(len(prompts))]
        self.last_info = [
            {
                "caption": captions[i],
                "caption_tokens": caption_tokens[i],
                "solution_tokens": counts[i * n : (i + 1) * n],
                "generated_tokens": caption_tokens[i] + sum(counts[i * n : (i + 1) * n]),
            }
            for i in range(len(prompts))
        ]
        return out

    def _generate_from_first_answer(self, prompts, seeds, n: int, budget: int):
        """HoneyBee's shared caption: completion 0 in full (seed derive_seed(s, 0), as in independent sampling),
        its caption cut at ``caption_end`` starts the assistant turn of completions 1..n-1 (seeds derive_seed(s, j)).
        ``caption_tokens`` is the caption re-tokenized (a close count of the tokens it took in completion 0)."""
        firsts, first_counts = self._run(prompts, seeds, 1, budget)
        marker = self.args.caption_end
        captions = [t[: t.index(marker) + len(marker)] if marker in t else "" for t in firsts]
        rows = [{**p, "answer_start": c} for p, c in zip(prompts, captions) for _ in range(n - 1)]
        row_seeds = [gen.derive_seed(s, j) for s in seeds for j in range(1, n)]
        rest, rest_counts = self._run_rows(rows, row_seeds, budget)
        out, self.last_info = [], []
        for i, (first, caption) in enumerate(zip(firsts, captions)):
            solutions = rest[i * (n - 1) : (i + 1) * (n - 1)]
            counts = rest_counts[i * (n - 1) : (i + 1) * (n - 1)]
            out.append([first, *(caption + s for s in solutions)])
            cap = len(self.tokenizer(caption, add_special_tokens=False)["input_ids"]) if caption else 0
            cap = min(cap, first_counts[i])
            self.last_info.append(
                {
                    "caption": caption,
                    "caption_tokens": cap,
                    "solution_tokens": [first_counts[i] - cap, *counts],
                    "generated_tokens": first_counts[i] + sum(counts),
                }
            )
        return out
