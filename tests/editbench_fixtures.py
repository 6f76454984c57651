"""Fixtures in the released layouts of the editing benchmarks (a few rows each, written here), stand-in judge
templates (our own text, not the official prose), a scripted OpenAI-compatible server on 127.0.0.1, and tiny
random CLIP / DINO checkpoints built from configs."""

from __future__ import annotations

import hashlib
import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
from PIL import Image

STANDIN_VIESCORE = '''# stand-in for GEdit-Bench viescore/vie_prompts.py (same names, our own text)
_context_no_delimit = """Rate the images. Reply as JSON with "score" and "reasoning"."""
_prompts_0shot_two_image_edit_rule = """RULES: first image is the source, second the edit."""
_prompts_0shot_tie_rule_SC = """ROLE=SC Give [success, overediting] from 0 to 10.
Editing instruction: <instruction>
"""
_prompts_0shot_rule_PQ = """ROLE=PQ Give [naturalness, artifacts] from 0 to 10."""
'''
STANDIN_IMGEDIT = {
    t: f"ROLE=RUBRIC type {t}. Score the edit. Instruction: <edit_prompt>.\n" for t in ("add", "remove", "style")
}
STANDIN_UGE = 'prompt = """ROLE=RUBRIC hard edit. Instruction: <edit_prompt>.\n"""\n'


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def png_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def image(seed: int, h: int = 24, w: int = 32) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def write_parquet(path: Path, rows: list[dict]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)


def gedit_release(root: Path, rows: list[tuple[str, str, str, str, bool]]) -> Path:
    """HF snapshot layout of stepfun-ai/GEdit-Bench: data/train-00000-of-00001.parquet.
    rows: (task_type, key, instruction, language, intersection)."""
    records = []
    for i, (ttype, key, instr, lang, inter) in enumerate(rows):
        img = {"bytes": png_bytes(image(i)), "path": f"{key}.png"}
        records.append(
            {
                "task_type": ttype,
                "key": key,
                "instruction": instr,
                "instruction_language": lang,
                "input_image": img,
                "input_image_raw": img,
                "Intersection_exist": inter,
            }
        )
    write_parquet(root / "data" / "train-00000-of-00001.parquet", records)
    (root / "viescore").mkdir(exist_ok=True)
    (root / "viescore" / "vie_prompts.py").write_text(STANDIN_VIESCORE)
    return root


def task_yaml(
    folder: Path, name: str, loader: str, args: dict, metrics: list[str], primary: str, options: dict
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    doc = {
        "name": name,
        "kind": "edit",
        "source": {"loader": loader, "args": args},
        "metrics": metrics,
        "primary_metric": primary,
        "options": options,
    }
    path = folder / (name.replace("/", "_") + ".yaml")
    path.write_text(json.dumps(doc))  # JSON is YAML
    return path


class ScriptedChat:
    """An OpenAI chat-completions server whose reply depends on the request: ``script(role, text, n, images)`` ->
    (http status, body dict or raw str, delay seconds); ``images``: the data URLs sent; n counts earlier
    requests with the same content."""

    def __init__(self, script, latency: float = 0.0, record: bool = True):
        self.script, self.latency, self.record = script, latency, record
        self.seen: dict[tuple, int] = {}
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                parts = body["messages"][0]["content"]
                text = "".join(p.get("text", "") for p in parts if p["type"] == "text")
                images = [p["image_url"]["url"] for p in parts if p["type"] == "image_url"]
                role = text.split("ROLE=", 1)[1].split()[0] if "ROLE=" in text else "?"
                with outer.lock:
                    key = (role, text, *images) if outer.record else ()
                    n = outer.seen.get(key, 0)
                    outer.seen[key] = n + 1
                    if outer.record:
                        outer.requests.append(body)
                status, reply, delay = outer.script(role, text, n, images)
                time.sleep(delay + outer.latency)
                data = (reply if isinstance(reply, str) else json.dumps(reply)).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def chat(content: str | None, model: str = "judge-model-x", refusal: str | None = None, finish: str = "stop"):
    return {
        "id": "c",
        "object": "chat.completion",
        "model": model,
        "choices": [
            {
                "index": 0,
                "finish_reason": finish,
                "message": {"role": "assistant", "content": content, "refusal": refusal},
            }
        ],
    }


def tiny_clip(out: Path, seed: int = 0) -> Path:
    """A random CLIPModel (2 layers) with a byte-level BPE tokenizer and an image processor, saved to ``out``."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPTokenizerFast

    from harness_baselines.hf.tiny import build_tokenizer

    tok = build_tokenizer()
    config = CLIPConfig(
        text_config=dict(
            vocab_size=len(tok),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            max_position_embeddings=77,
            eos_token_id=tok.eos_token_id,
            bos_token_id=tok.bos_token_id,
            pad_token_id=tok.pad_token_id,
        ),
        vision_config=dict(
            image_size=32,
            patch_size=8,
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
        ),
        projection_dim=16,
    )
    torch.manual_seed(seed)
    CLIPModel(config).eval().save_pretrained(out)
    tok.save_pretrained(out)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(out)
    del CLIPTokenizerFast
    return out


def tiny_dino(out: Path, seed: int = 0) -> Path:
    import torch
    from transformers import ViTConfig, ViTModel

    torch.manual_seed(seed)
    ViTModel(
        ViTConfig(
            image_size=28,
            patch_size=7,
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
        ),
        add_pooling_layer=False,
    ).eval().save_pretrained(out)
    return out
