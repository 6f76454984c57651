"""The CSS and JavaScript every report page inlines (no CDN: pages work offline from the file system), and the
page skeleton. Scripts never build markup from data: rows are rendered (escaped) in Python, the script only hides,
shows and reorders them, so nothing a user supplied can become markup."""

from __future__ import annotations

import json
from html import escape

STYLE = """
* { box-sizing: border-box; }
body { font-family: system-ui, sans-serif; margin: 1.2em 2em; color: #222; max-width: 100%; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; } h3 { font-size: 1.05em; }
a { color: #1f5fa8; } code { background: #f4f4f4; padding: 0 .2em; }
.scroll { overflow-x: auto; max-width: 100%; width: fit-content; border: 1px solid #ddd; margin: .6em 0 1.2em; }
table { border-collapse: separate; border-spacing: 0; font-size: .9em; }
td .n { font-size: .8em; color: #666; }
th, td { border-bottom: 1px solid #e3e3e3; border-right: 1px solid #eee; padding: .3em .6em; white-space: nowrap; }
th { background: #f3f3f3; cursor: pointer; position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th.model, td.model { position: sticky; left: 0; background: #fff; z-index: 1; text-align: left;
  min-width: 10em; max-width: 26em; white-space: normal; overflow-wrap: anywhere; }
th.model { background: #f3f3f3; z-index: 2; }
tr.reference td { background: #fff7e6; } tr.reference td.model { background: #fff7e6; font-weight: 600; }
td .mark { font-weight: bold; } td a { text-decoration: none; color: inherit; }
td a:hover { text-decoration: underline; }
.plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(440px, 1fr)); gap: 1em; }
.plots figure { margin: 0; } .plots img { max-width: 100%; height: auto; }
.controls { position: sticky; top: 0; background: #fafafa; border: 1px solid #ddd; padding: .5em .8em; z-index: 5;
  display: flex; flex-wrap: wrap; gap: .4em 1.2em; align-items: center; }
.controls label { white-space: nowrap; } .controls select { max-width: 22em; }
.sample { border: 1px solid #ddd; border-radius: 4px; margin: .8em 0; padding: .6em .8em; }
.sample[hidden] { display: none; }
.sample header { display: flex; flex-wrap: wrap; gap: .3em 1em; align-items: baseline; margin-bottom: .4em; }
.sample header .id { font-weight: 600; font-family: monospace; }
.tag { background: #eef2f7; border-radius: 3px; padding: 0 .4em; font-size: .85em; }
.tiles { display: flex; flex-wrap: wrap; gap: .6em; align-items: flex-start; }
figure.tile { margin: 0; }
.tile { width: 136px; font-size: .8em; overflow-wrap: anywhere; }
.tile img { width: 128px; height: 128px; object-fit: contain; image-rendering: pixelated; background: #f0f0f0;
  display: block; border: 1px solid #ccc; }
.tile.relevant img { border: 3px solid #2a9d3f; } .tile.input img { border-color: #888; }
.tile .cap { font-weight: 600; } .tile .scores { font-variant-numeric: tabular-nums; color: #444; }
.models { display: flex; flex-wrap: wrap; gap: .8em; }
.model-cell { border-left: 3px solid #ccd; padding-left: .6em; min-width: 0; flex: 1 1 30em; }
.model-cell[hidden] { display: none; }
.models.compact .model-cell { flex: 0 0 auto; max-width: 100%; }
.side-info { max-width: 32em; overflow-wrap: anywhere; }
.side-info.inline { list-style: none; padding: 0; margin: .3em 0; font-size: .85em; color: #555; }
.side-info.inline li { display: inline; } .side-info.inline li + li::before { content: " · "; }
.side-info li { font-family: monospace; }
nav.pages { margin: .6em 0; } nav.pages a, nav.pages b { padding: 0 .3em; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; font-family: monospace; font-size: .85em;
  background: #f8f8f8; padding: .4em; max-height: 24em; overflow-y: auto; }
.ok { color: #1d7a2e; font-weight: 600; } .bad { color: #b3261e; font-weight: 600; }
.muted { color: #777; } audio { width: 260px; max-width: 100%; }
"""

# Sorting a board table by a column; galleries: filters, model choice, sort by the per-sample difference B - A.
SCRIPT = r"""
function sortTable(id, col) {
  const table = document.getElementById(id), body = table.tBodies[0];
  const asc = table.dataset.sortCol == col && table.dataset.sortDir == 'desc';
  const key = tr => {
    const v = tr.cells[col].dataset.value;
    return v === undefined ? tr.cells[col].textContent : parseFloat(v);
  };
  const rows = Array.from(body.rows).sort((a, b) => {
    const x = key(a), y = key(b);
    if (typeof x === 'number' && isNaN(x)) return 1;
    if (typeof y === 'number' && isNaN(y)) return -1;
    return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
  });
  rows.forEach(r => body.appendChild(r));
  table.dataset.sortCol = col; table.dataset.sortDir = asc ? 'asc' : 'desc';
}
function galleryInit() {
  const data = document.getElementById('gallery-data');
  if (!data) return;
  const {metrics, scores} = JSON.parse(data.textContent);
  const score = (id, model, metric) => {  // a model's value of a metric on a sample, or undefined
    const s = (scores[id] || [])[model], k = metrics.indexOf(metric);
    return s && k >= 0 && s[k] !== null ? s[k] : undefined;
  };
  const $ = id => document.getElementById(id);
  const list = $('samples'), rows = Array.from(list.querySelectorAll('.sample'));
  const original = rows.slice();
  const hash = new URLSearchParams(location.hash.slice(1));
  for (const [k, v] of hash) {  // a board cell's link: models, metric, subset filter
    const el = $('ctl-' + k);
    if (el && Array.from(el.options).some(o => o.value == v)) el.value = v;
  }
  function apply() {
    const a = $('ctl-a').value, b = $('ctl-b').value, metric = $('ctl-metric').value, sort = $('ctl-sort').value;
    const show = $('ctl-show').value, verdict = $('ctl-verdict') ? $('ctl-verdict').value : '';
    const filters = Array.from(document.querySelectorAll('select.filter')).filter(s => s.value);
    let shown = 0;
    for (const row of rows) {
      const subsets = JSON.parse(row.dataset.subsets);
      let visible = filters.every(s => subsets.includes(s.value));
      if (visible && verdict) {
        const vm = $('ctl-verdict').dataset.metric;
        const va = score(row.dataset.id, a, vm), vb = score(row.dataset.id, b, vm);
        const ca = va !== undefined ? va > 0 : null, cb = vb !== undefined ? vb > 0 : null;
        visible = verdict == 'a-right' ? ca === true : verdict == 'a-wrong' ? ca === false
          : verdict == 'differ' ? (ca !== null && cb !== null && ca != cb) : true;
      }
      row.hidden = !visible;
      if (visible) shown++;
      for (const cell of row.querySelectorAll('.model-cell')) {
        cell.hidden = show == 'ab' && cell.dataset.model != a && cell.dataset.model != b;
        cell.style.order = cell.dataset.model == a ? 0 : cell.dataset.model == b ? 1 : 2;  // A first, then B
      }
    }
    const diff = row => {
      const x = score(row.dataset.id, a, metric), y = score(row.dataset.id, b, metric);
      return x === undefined || y === undefined ? NaN : y - x;
    };
    let ordered = original.slice();
    if (sort != 'order') {
      const sign = sort == 'b-a' ? -1 : 1;
      ordered.sort((r, q) => { const x = diff(r), y = diff(q);
        if (isNaN(x)) return 1; if (isNaN(y)) return -1; return sign * (x - y); });
    }
    ordered.forEach(r => list.appendChild(r));
    const paged = document.querySelector('nav.pages') !== null;
    $('shown').textContent = shown + ' of ' + rows.length + ' samples' + (paged ? ' of this page' : '') + ' shown';
    const params = new URLSearchParams();
    for (const el of document.querySelectorAll('.controls select')) if (el.value) params.set(el.id.slice(4), el.value);
    history.replaceState(null, '', '#' + params.toString());
    for (const link of document.querySelectorAll('a.page-link'))  // another page opens with the same controls
      link.setAttribute('href', link.getAttribute('href').split('#')[0] + '#' + params.toString());
  }
  for (const el of document.querySelectorAll('.controls select')) el.addEventListener('change', apply);
  apply();
}
document.addEventListener('DOMContentLoaded', galleryInit);
"""


def json_script(element_id: str, value) -> str:
    """Data for the page's script as a JSON block; <, > and & are escaped so no value can close the element."""
    text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/json" id="{escape(element_id)}">{text}</script>'


def page(title: str, body: str, nav: str = "", head: str = "") -> str:
    """A complete HTML page; ``title`` is plain text (escaped here), ``body``/``nav``/``head`` (extra head
    elements, e.g. a site's <meta> records) are markup built escaped."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>{head}<style>{STYLE}</style></head>
<body>
{nav}
<h1>{escape(title)}</h1>
{body}
<script>{SCRIPT}</script>
</body></html>
"""
