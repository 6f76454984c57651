"""Tiny random-init checkpoints of real transformers classes, built locally (no download) for tests and the
shared-caption comparison: a LLaVA (CLIP vision tower + Llama decoder) and a Llama causal LM, both with a
byte-level BPE tokenizer trained on a few sentences (any text encodes, nothing becomes <unk>) and a chat template.

They are saved with ``save_pretrained`` and loaded back through the adapters exactly like a real checkpoint.
"""

from __future__ import annotations

from pathlib import Path

IMAGE_TOKEN = "<image>"
SPECIALS = ["<pad>", "<s>", "</s>", IMAGE_TOKEN, "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]
CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>"
    "{% if m['content'] is string %}{{ m['content'] }}"
    "{% else %}{% for c in m['content'] %}{% if c['type'] == 'image' %}<image>{% else %}{{ c['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|end|>{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
CORPUS = [
    "How many circles are in the image? Your final answer MUST BE put in \\boxed{}.",
    "The answer is \\boxed{3}. What time does the clock show? (A) 3:00 (B) 4:30 (C) 12:15 (D) 9:45",
    "Describe the image in detail. A red square and two blue triangles on a white background.",
    "The bar chart shows values 0 1 2 3 4 5 6 7 8 9 10 20 50 100. Which bar is the tallest? Compute the sum.",
    "Let x be the angle of the triangle; the area of the circle with radius r is pi r^2. Therefore x = 45 degrees.",
]


def build_tokenizer(vocab_size: int = 320):
    """Byte-level BPE (256 byte symbols + a few merges) wrapped in PreTrainedTokenizerFast, with chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS * 4, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        extra_special_tokens={"image_token": IMAGE_TOKEN},
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def _llama(vocab_size: int, tok, seed_scale: float = 0.2):
    from transformers import LlamaConfig

    # A large init range makes logits peaked, so greedy decoding never sits on a numerical near-tie.
    return LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        initializer_range=seed_scale,
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
    )


def build_llava(out: str | Path, image_size: int = 32, patch_size: int = 8, seed: int = 0) -> Path:
    """LlavaForConditionalGeneration (2-layer CLIP tower, 2-layer Llama) + LlavaProcessor, saved to ``out``."""
    import torch
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )

    tok = build_tokenizer()
    image_proc = CLIPImageProcessor(
        size={"height": image_size, "width": image_size},
        do_center_crop=False,
        crop_size={"height": image_size, "width": image_size},
        image_mean=[0.5] * 3,
        image_std=[0.5] * 3,
        do_convert_rgb=True,
    )
    processor = LlavaProcessor(
        image_processor=image_proc,
        tokenizer=tok,
        patch_size=patch_size,
        vision_feature_select_strategy="default",
        image_token=IMAGE_TOKEN,
        num_additional_image_tokens=1,
        chat_template=CHAT_TEMPLATE,
    )
    vision = CLIPVisionConfig(
        image_size=image_size,
        patch_size=patch_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
    )
    config = LlavaConfig(
        vision_config=vision,
        text_config=_llama(len(tok), tok),
        image_token_index=tok.convert_tokens_to_ids(IMAGE_TOKEN),
        vision_feature_layer=-1,
        vision_feature_select_strategy="default",
    )
    torch.manual_seed(seed)
    model = LlavaForConditionalGeneration(config).eval()
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    out = Path(out)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out


def build_causal_lm(out: str | Path, seed: int = 0) -> Path:
    """LlamaForCausalLM (2 layers, 64 wide) + the BPE tokenizer with chat template, saved to ``out``."""
    import torch
    from transformers import LlamaForCausalLM

    tok = build_tokenizer()
    torch.manual_seed(seed)
    model = LlamaForCausalLM(_llama(len(tok), tok)).eval()
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    out = Path(out)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out
