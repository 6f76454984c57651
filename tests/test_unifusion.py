"""UniFusion: conditioning variants, frozen-VLM training step, checkpoint loading, errors, batch invariance, the
text-to-image loader, and one real ``harness eval`` subprocess on tiny random checkpoints built from configs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from harness.data import edit_scenes, edit_t2i
from harness.errors import HarnessError
from harness_baselines.unifusion import tiny_vlm
from harness_baselines.unifusion.conditioning import VARIANTS, evenly_mapped, strided
from harness_baselines.unifusion.encoder import VLMEncoder, pad_states
from harness_baselines.unifusion.generator import UniFusionTransformer
from harness_baselines.unifusion.train_generator import draw_t, flow_matching_loss

TINY_GEN = dict(sample_size=16, patch_size=4, num_layers=2, num_attention_heads=2, attention_head_dim=8, lap_dim=8)


def tiny_vlm_parts(hidden_size=16, num_layers=3):
    """A random-init tiny LLaVA (+ processor) built from configs: 4 hidden states of width ``hidden_size``, 16
    image tokens per image (16 x 16 input, patch 4: the tiny generator's 4 x 4 patch grid)."""
    from transformers import LlavaForConditionalGeneration

    torch.manual_seed(0)
    processor = tiny_vlm.build_processor(image_size=16, patch_size=4)
    config = tiny_vlm.build_config(
        len(processor.tokenizer),
        image_size=16,
        patch_size=4,
        vision_hidden_size=16,
        hidden_size=hidden_size,
        num_layers=num_layers,
    )
    model = LlavaForConditionalGeneration(config)
    model.generation_config.max_new_tokens = 6
    return model, processor


def tiny_transformer(variant, encoder):
    torch.manual_seed(0)
    return UniFusionTransformer(
        variant=variant,
        vlm_hidden_size=encoder.hidden_size,
        vlm_num_hidden_states=encoder.num_hidden_states,
        lap_stride=2,
        **TINY_GEN,
    )


@pytest.fixture(scope="module")
def scenes():
    return edit_scenes.generate(seed=0, n_per_type=1, size=32)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """tmp/vlm (transformers save_pretrained) and tmp/<variant> (diffusers save_pretrained + scheduler)."""
    from diffusers import FlowMatchEulerDiscreteScheduler

    root = tmp_path_factory.mktemp("unifusion")
    model, processor = tiny_vlm_parts()
    model.save_pretrained(root / "vlm")
    processor.save_pretrained(root / "vlm")
    encoder = VLMEncoder(model, processor)
    for variant in VARIANTS:
        transformer = tiny_transformer(variant, encoder)
        torch.nn.init.normal_(transformer.proj_out.weight, std=0.5)  # untrained, but its output reads the input
        transformer.save_pretrained(root / variant)
        FlowMatchEulerDiscreteScheduler().save_pretrained(root / variant)
    return root


def test_layer_selection_follows_stride_and_even_mapping():
    assert strided(10, 3) == [0, 3, 6, 9]  # every 3rd layer, last included, embeddings reached
    assert strided(4, 2) == [1, 3]
    assert evenly_mapped(10, 4) == [0, 3, 6, 9]
    assert evenly_mapped(10, 6) == [0, 2, 4, 5, 7, 9]


@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_trains_one_step_with_the_vlm_frozen(variant, scenes):
    model, processor = tiny_vlm_parts()
    transformer = tiny_transformer(variant, VLMEncoder(model, processor))
    encoder = VLMEncoder(model, processor, layers=transformer.layer_indices)
    vlm_before = {k: v.clone() for k, v in model.state_dict().items()}
    texts = [s.instruction for s in scenes[:3]]
    states, mask = pad_states(encoder.encode([s.source for s in scenes[:3]], texts, micro_batch=3))
    assert states.shape[:2] == (3, len(transformer.layer_indices)) and mask.shape == (3, states.shape[2])
    target = torch.rand(3, 3, 16, 16) * 2 - 1
    opt = torch.optim.AdamW(transformer.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    # Two steps: the output layer starts at zero (adaLN-zero style), which blocks gradients on the very first one.
    for _ in range(2):
        opt.zero_grad()
        loss = flow_matching_loss(transformer, states, mask, target, gen)
        loss.backward()
        assert torch.isfinite(loss)
        opt.step()
    grads = [p.grad for p in transformer.conditioning.parameters()]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)  # the loss reaches the conditioning module
    assert all(not p.requires_grad and p.grad is None for p in model.parameters())
    assert all(torch.equal(vlm_before[k], v) for k, v in model.state_dict().items())


def test_training_noise_levels_follow_the_chosen_distribution():
    uniform = draw_t(20000, torch.Generator().manual_seed(0))
    skewed = draw_t(20000, torch.Generator().manual_seed(0), "logit_normal")
    assert ((uniform > 0) & (uniform < 1)).all() and ((skewed > 0) & (skewed < 1)).all()
    assert abs(uniform.mean().item() - 0.5) < 0.01
    # JiT's logit-normal, mirrored to sigma = t: median sigmoid(0.8) = 0.69, so most draws are noisy.
    assert abs(skewed.median().item() - torch.sigmoid(torch.tensor(0.8)).item()) < 0.01
    assert (skewed > 0.5).float().mean() > 0.8 > (uniform > 0.5).float().mean()
    with pytest.raises(ValueError, match="unknown t sampling 'cosine'"):
        draw_t(4, torch.Generator(), "cosine")


def test_encoder_caches_by_input_hash(scenes):
    model, processor = tiny_vlm_parts()
    encoder = VLMEncoder(model, processor, layers=[0, -1])
    calls = []
    forward = encoder._forward
    encoder._forward = lambda imgs, txts: calls.append(len(txts)) or forward(imgs, txts)
    a = encoder.encode([scenes[0].source, scenes[1].source], ["a", "b"])
    b = encoder.encode([scenes[1].source, scenes[0].source], ["b", "a"])
    assert calls == [1, 1] and torch.equal(a[0], b[1]) and a[0].shape[0] == 2


def test_adapter_outputs_do_not_depend_on_batch_size(checkpoints, scenes):
    from harness_baselines.unifusion.adapter import UniFusionEditor

    for start in ("source", "noise"):
        editor = UniFusionEditor(vlm=str(checkpoints / "vlm"), generator=str(checkpoints / "lap"), steps=3, start=start)
        assert UniFusionEditor.Args().start == "noise"  # the paper's method is the default; SDEdit is an option
        images, texts, seeds = [s.source for s in scenes[:3]], [s.instruction for s in scenes[:3]], [7, 8, 9]
        batched = editor.edit(images, texts, seeds)
        alone = [editor.edit([i], [t], [s])[0] for i, t, s in zip(images, texts, seeds)]
        assert all(o.shape == (32, 32, 3) and o.dtype == np.uint8 for o in batched)
        assert all(np.array_equal(a, b) for a, b in zip(batched, alone))
        one, two = editor.edit(images[:1], texts[:1], [1])[0], editor.edit(images[:1], texts[:1], [2])[0]
        assert not np.array_equal(one, two)


def test_grid_ids_tie_each_image_token_to_its_patch_cell(checkpoints, scenes):
    from harness_baselines.unifusion.adapter import UniFusionEditor
    from harness_baselines.unifusion.pipeline import grid_ids

    editor = UniFusionEditor(vlm=str(checkpoints / "vlm"), generator=str(checkpoints / "lap"), steps=2)
    editor.ensure_loaded()
    enc = editor.pipeline.encoder.encode_full([[scenes[0].source, scenes[1].source]], ["put it in"])[0]
    grid = grid_ids(enc.is_image, enc.reference, 16)
    assert grid[enc.is_image].tolist() == list(range(32)) and (grid[~enc.is_image] == -1).all()
    assert (grid_ids(enc.is_image, enc.reference, 9) == -1).all()  # another grid: no token is tied to a cell
    # The grid embedding reaches the output: the same states without it give another velocity.
    tr = editor.pipeline.transformer
    torch.nn.init.normal_(tr.proj_out.weight)
    x, t = torch.randn(1, 3, 16, 16), torch.tensor([500.0])
    st, mask = enc.states[None], torch.ones(1, enc.states.shape[1], dtype=torch.bool)
    with torch.no_grad():
        assert not torch.allclose(tr(x, t, st, mask, grid[None]), tr(x, t, st, mask, None))


def test_adapter_edits_with_several_references_and_reports_the_verifi_rewrite(checkpoints, scenes):
    from harness_baselines.unifusion.adapter import UniFusionEditor

    vlm = str(checkpoints / "vlm")
    lap = UniFusionEditor(vlm=vlm, generator=str(checkpoints / "lap"), steps=2)
    assert lap.max_images is None  # any number of references
    images, texts = [s.source for s in scenes[:2]], [s.instruction for s in scenes[:2]]
    refs = [(scenes[2].source,), ()]
    out = lap.edit(images, texts, [1, 2], references=refs)
    assert [o.shape for o in out] == [i.shape for i in images] and lap.last_info is None
    assert not np.array_equal(out[0], lap.edit(images[:1], texts[:1], [1])[0])  # the reference is read
    verifi = UniFusionEditor(vlm=vlm, generator=str(checkpoints / "verifi"), variant="verifi", steps=2)
    out = verifi.edit(images, texts, [1, 2], references=refs)
    assert len(out) == 2 and [list(i) for i in verifi.last_info] == [["rewrite"], ["rewrite"]]


def test_fingerprint_hashes_checkpoint_files(checkpoints, tmp_path):
    import shutil

    from harness_baselines.unifusion.adapter import UniFusionEditor

    shutil.copytree(checkpoints / "lap", tmp_path / "lap")
    args = dict(vlm=str(checkpoints / "vlm"), generator=str(tmp_path / "lap"))
    before = UniFusionEditor(**args).fingerprint()
    (tmp_path / "lap" / "training.json").write_text("{}")  # any change of the checkpoint folder
    assert UniFusionEditor(**args).fingerprint() != before


def test_bad_inputs_are_one_line_errors(checkpoints, tmp_path):
    from transformers import LlamaConfig, LlamaForCausalLM

    from harness_baselines.unifusion.adapter import UniFusionEditor

    vlm, gen = str(checkpoints / "vlm"), str(checkpoints / "lap")

    def error(**args):
        with pytest.raises(HarnessError) as e:
            UniFusionEditor(**args).ensure_loaded()  # bad paths fail at once, mismatches when loading
        assert "\n" not in str(e.value)
        return str(e.value)

    assert "does not exist" in error(vlm=vlm, generator=str(tmp_path / "nope"))
    assert "does not exist" in error(vlm=str(tmp_path / "nope"), generator=gen)
    assert "variant" in error(vlm=vlm, generator=gen, variant="pooling")
    assert "trained for variant 'lap'" in error(vlm=vlm, generator=gen, variant="kv_fusion")
    # A generator made for a VLM of another width.
    model, processor = tiny_vlm_parts(hidden_size=24)
    model.save_pretrained(tmp_path / "wide")
    processor.save_pretrained(tmp_path / "wide")
    assert "hidden size 16" in error(vlm=str(tmp_path / "wide"), generator=gen)
    # A text-only model is not a VLM.
    LlamaForCausalLM(
        LlamaConfig(vocab_size=40, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2)
    ).save_pretrained(tmp_path / "llm")
    processor.save_pretrained(tmp_path / "llm")
    assert "not a vision-language model" in error(vlm=str(tmp_path / "llm"), generator=gen)


def test_vlm_without_hidden_states_is_refused(scenes):
    model, processor = tiny_vlm_parts()

    class NoHiddenStates(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner, self.config = model, model.config

        def forward(self, **inputs):
            inputs.pop("output_hidden_states")
            out = self.inner(**inputs)
            out.hidden_states = None
            return out

    encoder = VLMEncoder(NoHiddenStates(), processor, name="nohs")
    with pytest.raises(HarnessError, match="returned no hidden states"):
        encoder.encode([scenes[0].source], ["x"])


def test_t2i_loader_asks_for_the_scene_from_its_caption_alone():
    samples = edit_t2i.generate(seed=0, n=6, size=32)
    again = edit_t2i.generate(seed=0, n=6, size=32)
    assert [s.id for s in samples] == [f"t2i-{i:03d}" for i in range(6)]
    for s, t in zip(samples, again):
        assert (s.source == 128).all() and s.mask.all() and s.instruction == s.caption
        assert np.array_equal(s.target, t.target)
        assert np.array_equal(s.target, edit_scenes.render(s.meta["target_scene"], 32))
    sources = {edit_scenes.caption(s.meta["source_scene"], 32) for s in edit_scenes.generate(0, 6, 32)}
    assert not sources & {s.caption for s in samples}  # not the edit/scenes scenes


def test_cli_eval_runs_unifusion_from_saved_checkpoints(checkpoints, tmp_path, cli):
    out = tmp_path / "results"
    args = f"vlm={checkpoints / 'vlm'},generator={checkpoints / 'kv_fusion'},variant=kv_fusion,steps=2"
    proc = cli(
        "eval",
        "--task",
        "edit",
        "--limit",
        "4",
        "--model",
        "unifusion",
        "--model_args",
        args,
        "--no-progress",
        "-o",
        out,
        check_rc=0,
    )
    assert "edit/scenes" in proc.stdout and "edit/photos" in proc.stdout
    files = sorted(out.glob("edit/*/unifusion-kv_fusion_*.json"))  # named model-variant_runid
    assert len(files) == 2 and all(json.loads(f.read_text()) for f in files)
    bad = cli(
        "eval",
        "--task",
        "edit/scenes",
        "--limit",
        "1",
        "--model",
        "unifusion-lap",
        "--model_args",
        f"vlm={tmp_path / 'missing'}",
        "--no-progress",
        "-o",
        out,
    )
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0 and "does not exist" in bad.stderr


def test_generator_probe_reports_reconstruction_and_caption_use(checkpoints):
    from harness.data.edit_t2i import generate
    from harness.metrics.editing import ssim_map
    from harness_baselines.unifusion.adapter import UniFusionEditor
    from harness_baselines.unifusion.generator_probe import probe

    editor = UniFusionEditor(vlm=str(checkpoints / "vlm"), generator=str(checkpoints / "lap"), variant="lap")
    editor.load()
    report = probe(editor, n=4, steps=(1, 2))
    assert report["gray_ssim"]["n"] == 4 and 0 < report["gray_ssim"]["mean"] < 1
    assert set(report["steps"]) == {"1", "2"}
    for row in report["steps"].values():
        low, high = row["recon_psnr"]["ci95"]
        assert low <= row["recon_psnr"]["mean"] <= high and row["recon_psnr"]["mean"] > 0
    # The same number as scoring the editor's own outputs on the suite's first scenes.
    samples = generate(seed=0, n=4)
    outs = editor.pipeline([s.source for s in samples], [s.instruction for s in samples], [0, 1, 2, 3], steps=1)
    direct = np.mean([ssim_map(o / 255.0, s.target / 255.0).mean() for o, s in zip(outs, samples)])
    assert report["steps"]["1"]["t2i_ssim"]["mean"] == pytest.approx(direct, abs=1e-4)
