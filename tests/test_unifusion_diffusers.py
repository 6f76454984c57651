"""The generic ``diffusers-edit`` adapter on tiny random-init pipelines built from configs (no download):
InstructPix2Pix, and a Stable Diffusion folder loaded through AutoPipelineForImage2Image."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.errors import HarnessError


def tiny_parts(unet_in_channels: int) -> dict:
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import CLIPTextConfig, CLIPTextModel, PreTrainedTokenizerFast

    torch.manual_seed(0)
    words = "<pad> <unk> <s> </s> make the red circle blue move to top left corner .".split()
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<pad>",
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
        model_max_length=16,
    )
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(words),
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            max_position_embeddings=16,
            pad_token_id=0,
            bos_token_id=2,
            eos_token_id=3,
        )
    )
    unet = UNet2DConditionModel(
        sample_size=8,
        in_channels=unet_in_channels,
        out_channels=4,
        block_out_channels=(8, 16),
        layers_per_block=1,
        norm_num_groups=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=16,
        attention_head_dim=4,
    )
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        block_out_channels=(8, 16),
        down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2,
        norm_num_groups=4,
    )
    return dict(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=DDIMScheduler(),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


@pytest.fixture(scope="module")
def pipelines(tmp_path_factory):
    from diffusers import StableDiffusionInstructPix2PixPipeline, StableDiffusionPipeline

    root = tmp_path_factory.mktemp("diffusers")
    StableDiffusionInstructPix2PixPipeline(**tiny_parts(8)).save_pretrained(root / "ip2p")
    StableDiffusionPipeline(**tiny_parts(4)).save_pretrained(root / "sd")
    return root


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, size=(20, 20, 3), dtype=np.uint8) for _ in range(3)]


@pytest.mark.parametrize("folder, kind", [("ip2p", "instruct-pix2pix"), ("sd", "img2img")])
def test_diffusers_edit_loads_a_saved_pipeline_and_is_batch_invariant(pipelines, images, folder, kind):
    from harness_baselines.unifusion.diffusers_edit import DiffusersEditor

    editor = DiffusersEditor(pretrained=str(pipelines / folder), steps=2)
    assert editor.pipeline_kind == kind and editor.kind == "edit" and not editor.loaded  # loads on first edit()
    texts = ["make the red circle blue .", "move the circle to the top left corner .", "make it red ."]
    batched = editor.edit(images, texts, [1, 2, 3])
    alone = [editor.edit([i], [t], [s])[0] for i, t, s in zip(images, texts, [1, 2, 3])]
    assert all(o.shape == (20, 20, 3) and o.dtype == np.uint8 for o in batched)
    assert all(np.array_equal(a, b) for a, b in zip(batched, alone))
    assert len(editor.fingerprint()) == 16


def test_diffusers_edit_missing_folder_is_a_one_line_error(tmp_path):
    from harness_baselines.unifusion.diffusers_edit import DiffusersEditor

    with pytest.raises(HarnessError, match="does not exist") as e:
        DiffusersEditor(pretrained=str(tmp_path / "nope"))
    assert "\n" not in str(e.value)
