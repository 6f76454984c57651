"""The ``native`` protocol: each benchmark's own recommended prompt, where it publishes one.

- MathVista: the dataset's ``query`` field (built by MathVista's ``build_query.py``: hint, question, choices);
- MathVerse: the dataset's ``query_cot`` field (MathVerse's chain-of-thought query);
- MMMU-Pro (vision): ``COT_VISION`` below, from MMMU-Benchmark/MMMU ``mmmu-pro/prompts.yaml`` (``cot.vision``),
  which asks for a last line "Answer: $LETTER" (graded by the ``strict`` grader's "Answer:" marker);
- the others publish no prompt we reproduce: the question as released, its options as "(A) text" lines where the
  release gives them as text, then ``BOXED_SUFFIX``.
MathVista's and MathVerse's own scoring extracts answers with a GPT judge; without one, the boxed suffix is
appended to their queries so a rule-based grader can read the answer.
"""

from harness.protocols.honeybee import BOXED_SUFFIX

COT_VISION = (
    "Write out the multiple-choice question in the image and then solve it. The last line of your response "
    "should be of the following format: 'Answer: $LETTER' (without quotes) where LETTER is one of options. "
    "Think step by step before answering."
)


def plain(question: str, options: list[str] | None = None, letters: str | None = None) -> str:
    """Question, "(A) option" lines, the boxed suffix (``letters``: the options' own labels when not A, B, C...)."""
    lines = [question]
    for i, opt in enumerate(options or []):
        lines.append(f"({(letters or 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')[i]}) {opt}")
    return "\n".join(lines) + BOXED_SUFFIX


def with_suffix(query: str) -> str:
    return query + BOXED_SUFFIX
