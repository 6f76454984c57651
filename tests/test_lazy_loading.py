"""Lazy model loading (harness.adapters): weights load only when a batch must be computed, the fingerprint comes
from the weight files without loading, and a fully cached re-run never builds the model."""

import subprocess
import sys
import textwrap

import numpy as np

import harness
from harness.adapters import Editor, adapter_class


class CountingEditor(Editor):
    """Counts load() calls; edits by darkening."""

    loads = 0

    def load(self):
        type(self).loads += 1
        self.factor = 2

    def edit(self, images, instructions, seeds):
        return [image // self.factor for image in images]


def test_load_runs_once_and_only_when_a_batch_is_computed(tmp_path):
    CountingEditor.loads = 0
    editor = CountingEditor()
    assert not editor.loaded and len(editor.fingerprint()) == 16  # fingerprint without loading
    harness.evaluate("edit/scenes", editor, limit=6, batch_size=2, output=tmp_path, progress=False)
    assert CountingEditor.loads == 1 and editor.loaded  # three batches, one load
    again = harness.evaluate("edit/scenes", CountingEditor, limit=6, output=tmp_path, progress=False)
    assert again[0].computed == 0 and CountingEditor.loads == 1  # fully cached: the new instance never loaded
    harness.evaluate("edit/scenes", CountingEditor, limit=8, output=tmp_path, progress=False)
    assert CountingEditor.loads == 2  # two new samples to compute: loaded


def test_calling_a_contract_method_directly_loads_first():
    CountingEditor.loads = 0
    editor = CountingEditor()
    out = editor.edit([np.full((4, 4, 3), 200, np.uint8)], ["x"], [0])
    assert out[0][0, 0, 0] == 100 and CountingEditor.loads == 1
    editor.edit([np.full((4, 4, 3), 200, np.uint8)], ["x"], [0])
    assert CountingEditor.loads == 1


CONSTRUCT_AND_FINGERPRINT = textwrap.dedent("""
    import sys
    from harness.adapters import adapter_class
    for name in {names!r}:
        adapter = adapter_class(name)()
        assert len(adapter.fingerprint()) == 16 and not adapter.loaded, name
    heavy = sorted(m for m in ("torch", "transformers", "diffusers") if m in sys.modules)
    assert not heavy, f"imported without computing anything: {{heavy}}"
""")


def test_reference_adapters_build_and_fingerprint_without_importing_torch():
    names = ["unifusion-lap", "unifusion-last_layer", "unifusion", "sail"]
    subprocess.run([sys.executable, "-c", CONSTRUCT_AND_FINGERPRINT.format(names=names)], check=True, timeout=300)


def test_fully_cached_rerun_of_the_reference_never_imports_torch(tmp_path):
    run = (
        "import sys, harness; r = harness.evaluate('edit/scenes', 'unifusion-lap', limit=3, output={out!r}, "
        "progress=False); print(r[0].computed, 'torch' in sys.modules)"
    )
    first = subprocess.run(
        [sys.executable, "-c", run.format(out=str(tmp_path))], capture_output=True, text=True, check=True, timeout=600
    ).stdout.split()
    assert first == ["3", "True"]
    cached = subprocess.run(
        [sys.executable, "-c", run.format(out=str(tmp_path))], capture_output=True, text=True, check=True, timeout=600
    ).stdout.split()
    assert cached == ["0", "False"]


def test_the_fingerprint_is_the_one_loading_would_give():
    """Same weights, same key: the lazily computed fingerprint equals the one of a loaded adapter."""
    cold = adapter_class("unifusion-lap")()
    loaded = adapter_class("unifusion-lap")()
    loaded.ensure_loaded()
    assert cold.fingerprint() == loaded.fingerprint()
