"""Where the HoneyBee proxy's probe answers go wrong: each answer filed under the first stage that fails.

    python baselines/honeybee/probe/errors.py STORE...   # a results folder or its harness.sqlite

For every ``probe/embedded`` and ``probe/text`` answer in a store, the CoT (in the teacher's layout, see
``teacher.py``: reading step, arithmetic statements, "X is option (L).", "so the answer is X. \\boxed{X}") is
checked stage by stage against the question's ground truth, regenerated from the probe task's generator:

- ``correct``: the grader (the stored ``accuracy``) counts it right — whatever the CoT says on the way;
- ``format``: no complete, non-empty ``\\boxed{}``;
- ``read``: a value the CoT states reading differs from the scene: a colour-shape count or the total, the digits,
  a bar's value (or the tallest / shortest), the clock's hands or time, the rectangle's sides, the labelled angles,
  and the operands of the statement that uses them ("9 + 1 = 10" about digits 9, 4 misreads the 4);
- ``compute``: an arithmetic statement ``x op y ... = z`` is false;
- ``copy``: the boxed answer is not the CoT's own last result — the option letter it names for multiple choice,
  else the last number (or time) stated before "the answer is";
- ``other``: the values it read are right, its arithmetic and copying check out (or were not stated), the answer
  is still wrong: a wrong option mapping ("11:30 is option (a)"), a wrong comparison ("the tallest bar is q");
- ``unread``: the same, but the CoT states nothing it read ("the answer is c. \\boxed{d}"), so whether it misread
  cannot be told: kept apart from ``other`` so that "reading right, still wrong" is not inflated by silence.

Shares per category and suite come with Wilson 95 % intervals (scipy). Outputs are compared after undoing the
proxy vocabulary's spacing ("3 : 55" -> "3:55", "( d )" -> "(d)") and case.
"""

from __future__ import annotations

import ast
import json
import operator
import re
import sys
from collections import Counter
from pathlib import Path

import yaml
from scipy.stats import binomtest

from harness.data.reasoning_embedded import CATEGORIES, ReasoningSample, generate
from harness.errors import HarnessError
from harness.store import RunStore
from harness_baselines.honeybee.pretrain import COLOR_ORDER, SHAPE_ORDER

CLASSES = ("correct", "format", "read", "compute", "copy", "other", "unread")
TASKS_DIR = Path(__file__).parent / "tasks" / "probe"
LETTERS = "abcdefgh"

_NUM = r"\d+(?::\d\d)?"  # a number or a clock time
_BOXED = re.compile(r"\\boxed\{([^{}]*)\}")
_ARITH = re.compile(r"((?:\(\s*)*\d+(?:\s*\)*\s*[-+*]\s*(?:\(\s*)*\d+)+\s*\)*)\s*(?:=|leaves)\s*(\d+)")
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}


def normalize(text: str) -> str:
    """The proxy's decoded tokens ("the clock shows 3 : 55 . \\boxed{ c }") in the teacher's spelling."""
    text = " ".join(text.lower().split())
    text = re.sub(r"(\d) ?: ?(\d)", r"\1:\2", text)
    text = re.sub(r" ([,.:)}])", r"\1", text)
    return re.sub(r"([({]) ", r"\1", text)


def _evaluate(node):
    """Value of a parsed ``+ - *`` expression over integers (nothing else is evaluated)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_evaluate(node.left), _evaluate(node.right))
    raise ValueError(ast.dump(node))


def arithmetic(text: str) -> list[tuple[str, int, int | None]]:
    """Every statement ``expression = z`` in ``text``: (expression, z, its true value or None if unparseable)."""
    found = []
    for m in _ARITH.finditer(text):
        expr = m.group(1)
        try:
            value = _evaluate(ast.parse(expr, mode="eval").body)
        except (SyntaxError, ValueError):
            value = None
        found.append((expr, int(m.group(2)), value))
    return found


def _operands(expr: str) -> list[int]:
    return sorted(int(x) for x in re.findall(r"\d+", expr))


def readings(s: ReasoningSample, t: str) -> list[tuple]:
    """Every reading claim in the (normalized) CoT ``t`` beside the scene's truth: [(claimed, truth), ...]."""
    f, pairs = s.meta, []

    def check(claim, truth):
        pairs.append((claim, truth))

    if s.category == "counting":
        pattern = rf"(\d+) ({'|'.join(COLOR_ORDER)}) ({'|'.join(SHAPE_ORDER)})"
        for k, color, shape in re.findall(pattern, t):
            check(f"{k} {color} {shape}", f"{f['objects'].count(f'{color} {shape}')} {color} {shape}")
        for k in re.findall(r"there are (\d+) shapes", t):
            check(f"{k} shapes", f"{len(f['objects'])} shapes")
    elif s.category == "digits":
        for listed in re.findall(r"digits from left to right are (\d+(?:, \d+)*)", t):
            check(listed, ", ".join(map(str, f["digits"])))
        for expr, _, _ in arithmetic(t)[:1]:  # the statement that combines the digits
            check(_operands(expr), sorted(f["digits"]))
    elif s.category == "bar_chart":
        values = {k.lower(): v for k, v in f["values"].items()}
        for bar, v in re.findall(r"\b([a-z]) = (\d+)\b", t) + re.findall(r"\bbar ([a-z]) reaches (\d+)", t):
            check(f"{bar} = {v}", f"{bar} = {values.get(bar)}")
        for top, low in re.findall(r"tallest bar reaches (\d+) and the shortest (\d+)", t):
            check((int(top), int(low)), (max(values.values()), min(values.values())))
    elif s.category == "clock":
        h, m = f["hour"], f["minute"]
        for x in re.findall(r"hour hand points near (\d+)", t):
            check(f"hour hand {x}", f"hour hand {(h - 1) % 12 + 1}")
        for x in re.findall(r"minute hand points at (\d+)", t):
            check(f"minute hand {x}", f"minute hand {m // 5 or 12}")
        for x in re.findall(r"that is (\d+) minutes", t):
            check(f"{x} minutes", f"{m} minutes")
        for x in re.findall(rf"the clock shows ({_NUM})", t):
            check(x, f["time"])
    else:  # geometry: a rectangle on a grid or a triangle with two labelled angles
        rect = (f["width"], f["height"]) if f["shape"] == "rectangle" else None
        labelled = sorted(f["angles"][:2]) if f["shape"] == "triangle" else None
        for w, h in re.findall(r"(\d+) squares wide and (\d+) squares tall", t):
            check((int(w), int(h)), rect)
        for a, b in re.findall(r"labelled angles are (\d+) and (\d+)", t):
            check(sorted([int(a), int(b)]), labelled)
        sides = re.findall(r"area = (\d+) \* (\d+) =", t) + re.findall(r"perimeter = 2 \* \((\d+) \+ (\d+)\) =", t)
        for w, h in sides:
            check(sorted([int(w), int(h)]), sorted(rect) if rect else None)
        for a, b in re.findall(r"180 - (\d+) - (\d+) =", t):
            check(sorted([int(a), int(b)]), labelled)
    return pairs


def misreads(s: ReasoningSample, t: str) -> list[str]:
    """The reading claims of ``t`` that contradict the scene of ``s``, as "claimed != truth"."""
    return [f"{claim} != {truth}" for claim, truth in readings(s, t) if claim != truth]


def boxed(t: str) -> str | None:
    """The last complete, non-empty box (what the grader reads), normalized; None when there is none."""
    contents = [c.strip().rstrip(".").strip() for c in _BOXED.findall(t)]
    contents = [c for c in contents if c]
    return contents[-1] if contents else None


def own_result(s: ReasoningSample, t: str) -> str | None:
    """What the CoT itself concluded before boxing: the option it names, else its last number before the closer."""
    head = t[: t.find("\\boxed{")] if "\\boxed{" in t else t
    if s.choices:
        named = re.findall(r"is option \(?([a-h])\b", head)
        if named:
            return named[-1]
    closer = head.rfind("answer is")
    results = re.findall(rf"\b({_NUM})\b", head[:closer] if closer > 0 else head)
    if s.choices:  # no option named: the letter of the option holding its last result, when there is one
        options = [c.lower() for c in s.choices]
        return LETTERS[options.index(results[-1])] if results and results[-1] in options else None
    return results[-1] if results else None


def classify(s: ReasoningSample, output: str, correct: bool) -> str:
    """The first failing stage of one answer (see the module docstring)."""
    if correct:
        return "correct"
    t = normalize(output)
    answer = boxed(t)
    if answer is None:
        return "format"
    stated = readings(s, t)
    if any(claim != truth for claim, truth in stated):
        return "read"
    if any(value is not None and value != z for _, z, value in arithmetic(t)):
        return "compute"
    mine = own_result(s, t)
    if mine is not None and mine != answer:
        return "copy"
    return "other" if stated else "unread"


def check_counts(s: ReasoningSample, output: str) -> Counter:
    """Each check on its own, not only the first failing one: reading claims, arithmetic statements and the box
    against its own result, as counts stated ("*_n") and right ("*_ok"), whatever the grader said."""
    t, c = normalize(output), Counter()
    for claim, truth in readings(s, t):
        c["read_n"] += 1
        c["read_ok"] += claim == truth
    for _, z, value in arithmetic(t):
        c["compute_n"] += value is not None
        c["compute_ok"] += value == z
    mine, answer = own_result(s, t), boxed(t)
    if mine is not None and answer is not None:
        c["copy_n"] += 1
        c["copy_ok"] += mine == answer
    return c


def wilson(k: int, n: int) -> tuple[float, float]:
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return 100 * ci.low, 100 * ci.high


def probe_samples(task: str) -> dict[str, ReasoningSample]:
    """The probe task's questions with their scenes, from the generator arguments in its task file."""
    path = TASKS_DIR / f"{task.split('/', 1)[1]}.yaml"
    if not path.is_file():
        raise HarnessError(f"{task}: no probe task file {path}")
    return {s.id: s for s in generate(**yaml.safe_load(path.read_text())["source"]["args"])}


def tally(store_path: Path) -> tuple[dict[tuple[str, str], Counter], dict[tuple[str, str], Counter]]:
    """({(suite, category or "all"): Counter of classes}, the same of ``check_counts``) over a store's finished
    probe runs."""
    db = store_path / "harness.sqlite" if store_path.is_dir() else store_path
    if not db.is_file():
        raise HarnessError(f"{store_path}: not a results store (no harness.sqlite)")
    store = RunStore(db, readonly=True)
    runs = store.runs("task LIKE 'probe/%' AND status = 'finished'")
    if not runs:
        raise HarnessError(f"{db}: no finished probe/embedded or probe/text run")
    counts: dict[tuple[str, str], Counter] = {}
    checks: dict[tuple[str, str], Counter] = {}
    for run in runs:
        samples = probe_samples(run["task"])
        suite = run["task"].split("/", 1)[1]
        for sid, rec in sorted(store.get_records(run["cache_key"], json.loads(run["sample_ids"] or "null")).items()):
            if sid not in samples:
                raise HarnessError(f"{db}: run {run['run_id']} has sample {sid!r}, not a {run['task']} question")
            if rec.scores is None:
                continue
            output = json.loads(rec.output.decode())[0] if rec.output else ""
            stage = classify(samples[sid], output, rec.scores["accuracy"] > 0)
            for key in ((suite, samples[sid].category), (suite, "all")):
                counts.setdefault(key, Counter())[stage] += 1
                checks.setdefault(key, Counter()).update(check_counts(samples[sid], output))
    return counts, checks


def _share(k: int, n: int) -> str:
    if not n:
        return "-"
    lo, hi = wilson(k, n)
    return f"{k}/{n} = {100 * k / n:.0f} % [{lo:.0f}, {hi:.0f}]"


def table(store_path: Path) -> str:
    """Two markdown tables: per suite and category, each class's count, share and Wilson 95 % interval; then each
    check on its own (reading claims right, arithmetic statements true, box = own result)."""
    counts, checks = tally(store_path)
    keys = sorted(counts, key=lambda k: (k[0], [*CATEGORIES, "all"].index(k[1])))
    lines = [f"`{store_path}`: first failing stage", ""]
    lines += ["| suite | category | n | " + " | ".join(CLASSES) + " |", "|---|---|---:|" + "---:|" * len(CLASSES)]
    for key in keys:
        c, n = counts[key], sum(counts[key].values())
        cells = []
        for cls in CLASSES:
            lo, hi = wilson(c[cls], n)
            cells.append(f"{c[cls]} ({100 * c[cls] / n:.0f} % [{lo:.0f}, {hi:.0f}])")
        lines.append(f"| {key[0]} | {key[1]} | {n} | " + " | ".join(cells) + " |")
    lines += ["", f"`{store_path}`: each check on its own, over all answers", ""]
    lines += ["| suite | category | reading claims right | arithmetic statements true | box = own result |"]
    lines += ["|---|---|---:|---:|---:|"]
    for key in keys:
        c = checks[key]
        cells = [_share(c[f"{name}_ok"], c[f"{name}_n"]) for name in ("read", "compute", "copy")]
        lines.append(f"| {key[0]} | {key[1]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if not argv:
        print("error: usage: errors.py STORE... (a results folder or its harness.sqlite)", file=sys.stderr)
        return 2
    try:
        print("\n\n".join(table(Path(p)) for p in argv))
    except HarnessError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
