"""Per-model cells of the report galleries (harness.report.gallery.model_cells): a failed sample is a "failed" cell
with its error, a scored one the model's output with its scores."""

import json

import harness
from harness.adapters import Editor
from harness.report.galleries import edit as edit_gallery
from harness.report.media import Media


class FailsOnOddSeeds(Editor):
    """Raises for every sample of an odd seed: those samples are failures, the rest is scored."""

    def edit(self, images, instructions, seeds):
        if any(s % 2 for s in seeds):
            raise RuntimeError("cannot <odd> things")
        return [i.copy() for i in images]


def test_edit_gallery_shows_a_failed_sample_as_failed_and_a_scored_one_with_its_scores(tmp_path):
    result = harness.evaluate(
        task="edit/scenes", model=FailsOnOddSeeds(), limit=12, batch_size=1, output=tmp_path, progress=False
    )[0]
    assert result.failures and len(result.failures) < result.n_samples  # some of each
    store = harness.open_store(tmp_path)
    run = store.find_run(result.spec.run_id())[0]
    task = harness.get_task("edit/scenes")
    views = edit_gallery.views(task, [run], store, Media(tmp_path / "media"), ["psnr_keep"], "")
    by_id = {v.id: v for v in views}
    assert set(by_id) == set(json.loads(run["sample_ids"]))
    for sid, view in by_id.items():
        if sid in result.failures:
            assert view.cells[0].startswith('<div class="bad">failed</div>')
            assert "cannot &lt;odd&gt; things" in view.cells[0]  # the error, escaped
            assert 0 not in view.scores
        else:
            assert "failed" not in view.cells[0] and "<img" in view.cells[0]
            assert view.scores[0] and all(isinstance(v, float) for v in view.scores[0].values())
