"""``hf-lm``: a text-only causal LM (``AutoModelForCausalLM`` + ``AutoTokenizer``) for the text-only suites
(reasoning/text, MATH-500, GPQA). Same decoding rules as hf-vlm (left padding, per-sample seeds, settings from
the model args only); a prompt that carries images is that sample's failure, never silently answered blind."""

from __future__ import annotations

from pydantic import Field

from harness.adapters import Reasoner, register_adapter
from harness_baselines.hf import generation as gen


class HFLMArgs(gen.HFArgs):
    use_chat_template: bool = True  # False (or no template in the checkpoint): the raw prompt text
    max_length: int | None = Field(None, ge=1)  # truncate prompts (from the left) to this many tokens


@register_adapter("hf-lm")
class HFLM(Reasoner):
    """A transformers causal LM (pretrained=PATH) for text-only reasoning; batched, left-padded, seeded."""

    Args = HFLMArgs

    def __init__(self, **model_args):
        super().__init__(**model_args)
        self._model = self.tokenizer = None
        self._fingerprint: str | None = None
        self.last_info: list[dict] = []

    def load_tokenizer(self):
        """The tokenizer alone (and its chat template): no weights, enough to fingerprint."""
        if self.tokenizer is None:
            from transformers import AutoTokenizer

            a = self.args
            self.tokenizer = AutoTokenizer.from_pretrained(
                a.pretrained, revision=a.revision, trust_remote_code=a.trust_remote_code
            )
            self.tokenizer.padding_side = "left"
            self.tokenizer.truncation_side = "left"  # keep the question's end and the answer instruction
            if self.tokenizer.pad_token_id is None:
                self.tokenizer.pad_token = self.tokenizer.eos_token
        return self.tokenizer

    def load(self):
        """Tokenizer and model once, when a batch must be generated (harness.adapters: lazy loading)."""
        if self._model is None:
            from transformers import AutoModelForCausalLM

            a = self.args
            common = dict(revision=a.revision, trust_remote_code=a.trust_remote_code)
            self.load_tokenizer()
            extra = {"attn_implementation": a.attn_implementation} if a.attn_implementation else {}
            self._model = (
                AutoModelForCausalLM.from_pretrained(a.pretrained, dtype=gen.torch_dtype(a.dtype), **common, **extra)
                .to(a.device)
                .eval()
            )
        return self._model

    def chat_template(self) -> str | None:
        self.load_tokenizer()
        if not self.args.use_chat_template:
            return None
        return gen.read_chat_template(self.args.chat_template) or self.tokenizer.chat_template

    def fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = gen.fingerprint(self.args, self.chat_template(), type(self).__qualname__)
        return self._fingerprint

    def render(self, text: str) -> str:
        template = self.chat_template()
        if template is None:
            return text
        messages = [{"role": "system", "content": self.args.system_prompt}] if self.args.system_prompt else []
        messages.append({"role": "user", "content": text})
        return self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, tokenize=False, chat_template=template
        )

    def generate(self, prompts, seeds, n=1, max_new_tokens: int = 512, **gen_kwargs):
        """prompts: dicts with 'text' (and an empty 'images'); returns n completions per prompt."""
        with_images = [p for p in prompts if p.get("images")]
        if with_images:
            raise ValueError("hf-lm is text-only: this prompt has images (use hf-vlm)")
        model = self.load()
        texts = [self.render(p["text"]) for p in prompts for _ in range(n)]  # one row per completion
        # Chat templates already add BOS where the model wants it; adding special tokens again would double it.
        trunc = dict(truncation=True, max_length=self.args.max_length) if self.args.max_length else {}
        inputs = self.tokenizer(
            texts, padding=True, return_tensors="pt", add_special_tokens=self.chat_template() is None, **trunc
        )
        inputs = {k: v.to(self.args.device) for k, v in inputs.items() if k in ("input_ids", "attention_mask")}
        eos = gen.eos_ids(model, self.tokenizer)
        new, counts = gen.generate_ids(
            model,
            inputs,
            gen.row_seeds(seeds, n),
            self.args.max_new_tokens or max_new_tokens,
            self.args,
            eos,
            self.tokenizer.pad_token_id,
        )
        decoded = gen.decode(self.tokenizer, new, counts)
        self.last_info = [
            {"solution_tokens": counts[i * n : (i + 1) * n], "generated_tokens": sum(counts[i * n : (i + 1) * n])}
            for i in range(len(prompts))
        ]
        return [decoded[i * n : (i + 1) * n] for i in range(len(prompts))]
