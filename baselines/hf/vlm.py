"""``hf-vlm``: any transformers image-text-to-text checkpoint (LLaVA-style, Qwen2/2.5-VL, InternVL-HF, Perception-LM
(the HoneyBee checkpoints), ...) through ``AutoModelForImageTextToText`` + ``AutoProcessor`` and the checkpoint's
chat template.

``shared_caption=true`` is HoneyBee's test-time scaling: one greedy caption of the image ("Describe the image in
detail.") is decoded once per sample and prefixed to the question, then the n solutions are sampled from that
prompt. Generated-token counts (caption once + every solution) are kept per sample in ``last_info`` so both modes
can be compared on cost.
"""

from __future__ import annotations

from pydantic import Field

from harness.adapters import Reasoner, register_adapter
from harness_baselines.hf import generation as gen


class HFVLMArgs(gen.HFArgs):
    shared_caption: bool = False
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
        """prompts -> (texts [len(prompts) * n], token counts), prompt-major."""
        from PIL import Image

        model = self.load()
        prompts = [p for p in prompts for _ in range(n)]  # one row per completion, prompt-major
        texts = [self.render(p["text"], len(p.get("images") or [])) for p in prompts]
        images = [Image.fromarray(img) for p in prompts for img in (p.get("images") or [])]
        inputs = self._processor(text=texts, images=images or None, padding=True, return_tensors="pt")
        inputs = {k: v.to(self.args.device) if hasattr(v, "to") else v for k, v in inputs.items()}
        eos = gen.eos_ids(model, self.tokenizer)
        new, counts = gen.generate_ids(
            model,
            inputs,
            gen.row_seeds(seeds, n),
            max_new_tokens,
            self.args,
            eos,
            self.tokenizer.pad_token_id,
            sample=sample,
        )
        return gen.decode(self.tokenizer, new, counts), counts

    def generate(self, prompts, seeds, n=1, max_new_tokens: int = 512, **gen_kwargs):
        """prompts: dicts with 'text' and 'images' (uint8 (H, W, 3) each); returns n completions per prompt."""
        budget = self.args.max_new_tokens or max_new_tokens
        captions = [""] * len(prompts)
        caption_tokens = [0] * len(prompts)
        if self.args.shared_caption:
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
