"""The ``honeybee`` grader against a table written by reading facebookresearch/HoneyBee_VLM ``eval/score.py``
(``score_file``): every answer key, its order, the box / answer-tag / key / whole-response precedence, the
trailing-period strip, the "(X)" / "X. " multiple-choice rule, case-insensitive equality and mathruler's
``grade_answer`` — each with both outcomes. ``mcq`` is HoneyBee's per-item ``is_mcq``. Every verdict was also
checked by running score.py's own ``score_file`` on the table (238 of 238 equal; not part of the suite, which has
no copy of score.py)."""

import pytest

from harness.metrics import honeybee_score
from harness.metrics.reasoning import grade, score_completions
from harness.protocols.honeybee import ANSWER_KEYS

KEYS = [
    "Answer: ",
    "The answer is: ",
    "The answer is ",
    "the answer is: ",
    "--------Summary--------\n",
    "**Answer** ",
    "the correct answer is ",
    "**Answer:** ",
    "answer: ",
    "**Answer**: ",
]

# (response, gold, mcq, right under score.py)
CASES = []
for key in KEYS:
    CASES += [
        (f"Let me think step by step. {key}7", "7", False, True),
        (f"Reasoning... {key}8", "7", False, False),
        (f"{key}7\nBecause 3 + 4 = 7.", "7", False, True),  # first line after the key only
        (f"{key}  7.", "7", False, True),  # stripped, trailing period dropped
        (f"{key}(B)", "B", True, True),
        (f"{key}(B)", "B", False, True),  # mathruler's normalisation drops the parentheses
        (f"{key}(B) 45 degrees", "B", True, True),
        (f"{key}(B) 45 degrees", "B", False, False),  # "(B)" inside a longer text only counts for multiple choice
        (f"First {key}3 then {key}5", "5", False, True),  # split on the key: the text after its last occurrence
        (f"First {key}3 then {key}5", "3", False, False),
    ]
CASES += [
    # --- which key wins: the first of the list present in the response, not the last marker in the text ---
    ("The answer is 5. Answer: 6", "6", False, True),
    ("The answer is 5. Answer: 6", "5", False, False),
    ("answer: 3. The answer is 4", "4", False, True),  # "The answer is " precedes "answer: " in the list
    ("answer: 3. The answer is 4", "3", False, False),
    ("The answer is: 7", "7", False, True),
    ("the answer is: 9", "9", False, True),
    ("Therefore the correct answer is C.", "C", False, True),
    ("Therefore the correct answer is C.", "C", True, True),
    ("**Answer**: B", "B", False, True),  # only "**Answer**: " matches
    ("**Answer:** B", "B", False, True),
    ("**Answer** B", "B", False, True),
    ("**Answer**:B", "B", False, False),  # no key matches: the whole text is graded
    ("--------Summary--------\n42\nextra", "42", False, True),
    ("--------Summary-------- 42", "42", False, False),  # the key includes the newline
    ("Final Answer: 12", "12", False, True),  # contains "Answer: "
    ("Final answer: 12", "12", False, True),  # contains "answer: "
    ("ANSWER: 12", "12", False, False),  # keys are case-sensitive: whole response graded
    ("The final answer is B.", "B", True, False),  # no key: "The final answer is B" is graded
    ("The final answer is B.", "B", False, False),
    ("The final answer is 12", "12", False, False),
    ("Answer:12", "12", False, False),  # "Answer: " needs its space
    ("Answer: ", "", False, True),  # empty after the key: "" equals the (empty) gold
    # --- no box, no tag, no key: the whole stripped response ---
    ("7", "7", False, True),
    ("  7  ", "7", False, True),
    ("7.", "7", False, True),
    ("7..", "7", False, True),  # one period dropped; mathruler reads "7." as 7
    ("7 apples.", "7", False, False),
    ("B", "B", True, True),
    ("b", "B", True, True),  # case-insensitive equality
    ("b", "B", False, True),
    ("(B)", "B", True, True),
    ("(B)", "B", False, True),  # grade_answer normalises "(B)" to "b"
    ("(B) is my pick", "B", False, False),
    ("B. 45 degrees", "B", True, True),
    ("B. 45 degrees", "B", False, False),
    ("B.", "B", False, True),
    ("The result is 7", "7", False, False),
    ("yes", "Yes", False, True),
    ("Yes.", "Yes", False, True),
    ("No", "Yes", False, False),
    ("I think (A) or (B)", "B", True, True),  # any "(B)" in the text
    ("I think (A) or (B)", "A", True, True),
    ("I think (A) or (B)", "C", True, False),
    ("A. first B. second", "B", True, True),
    ("0.5", "\\frac{1}{2}", False, True),  # grade_answer(gold, response): sympy equivalence
    ("1/2", "\\frac{1}{2}", False, True),
    ("2/4", "\\frac{1}{2}", False, False),  # unreduced fractions never match
    ("12", "12.0", False, True),
    ("x", "y", False, False),
    # --- \boxed{...} wins over everything: mathruler's extract_boxed_content (the last box) ---
    ("\\boxed{7}", "7", False, True),
    ("So \\boxed{7}.", "7", False, True),
    ("\\boxed{ 7 }", "7", False, True),
    ("\\boxed{3} then \\boxed{4}", "4", False, True),
    ("\\boxed{3} then \\boxed{4}", "3", False, False),
    ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}", False, True),
    ("\\boxed{\\frac{1}{2}}", "0.5", False, True),
    ("\\boxed{\\dfrac{3}{4}}", "\\frac{3}{4}", False, True),
    ("\\boxed{B}", "B", True, True),
    ("\\boxed{(B)}", "B", True, True),
    ("\\boxed{(B)}", "B", False, True),
    ("\\boxed{(B) 12}", "B", False, False),
    ("\\boxed{B. 12}", "B", True, True),
    ("\\boxed{B. 12}", "B", False, False),
    ("\\boxed{\\text{B}}", "B", True, True),  # mathruler strips \text{}
    ("\\boxed{b}", "B", False, True),
    ("\\boxed{7.}", "7", False, True),  # trailing period of the box content dropped
    ("\\boxed{7", "7", False, False),  # unclosed: extract_boxed_content returns "None"
    ("\\boxed{7", "None", False, True),
    ("\\boxed{} is where it goes. Answer: 7", "7", False, False),  # an empty box is the answer ("")
    ("Answer: 5 \\boxed{6}", "6", False, True),  # the box beats the key
    ("Answer: 5 \\boxed{6}", "5", False, False),
    ("<answer>4</answer> \\boxed{6}", "6", False, True),  # the box beats the tag
    ("\\boxed{x^2}", "x^2", False, True),
    ("\\boxed{2\\pi}", "2\\pi", False, True),
    ("\\boxed{10\\%}", "10", False, True),
    ("\\boxed{1,000}", "1000", False, True),
    ("\\boxed{5 cm}", "5", False, True),  # mathruler drops units
    ("\\boxed{Yes}", "Yes", False, True),
    ("\\boxed{No}", "Yes", False, False),
    ("\\boxed {7}", "7", False, True),  # not "\boxed{": the whole response, which mathruler's LaTeX reading makes 7
    ("\\boxed {7} apples", "7", False, False),
    ("\\boxed{(1, 2)}", "(1,2)", False, True),
    ("\\boxed{(2, 1)}", "(1,2)", False, False),
    # --- <answer> tags (when no box): the last <answer>..</answer> ---
    ("<answer>B</answer>", "B", True, True),
    ("<think>...</think><answer> 42 </answer>", "42", False, True),
    ("<answer>1</answer> then <answer>2</answer>", "2", False, True),
    ("<answer>1</answer> then <answer>2</answer>", "1", False, False),
    ("<answer>(C)</answer>", "C", True, True),
    ("<answer>(C)</answer>", "C", False, True),
    ("<answer>(C) 5</answer>", "C", False, False),
    ("<answer>7.</answer>", "7", False, True),
    ("reasoning </answer> 7", "7", False, False),  # no opening tag: the text before </answer> is graded
    ("Answer: 3 <answer>4</answer>", "4", False, True),  # the tag beats the key
    ("<answer>4", "4", False, False),  # no closing tag: answer keys and fallback ("<answer>4")
    # --- multiple choice: "(G)" or "G. " anywhere in the extracted text (per item, is_mcq) ---
    ("Answer: A", "A", True, True),
    ("Answer: A", "B", True, False),
    ("Answer: (A) 30 degrees", "A", True, True),
    ("Answer: A. 30 degrees", "A", True, True),
    ("Answer: A) 30 degrees", "A", True, False),
    ("Answer: A 30 degrees", "A", True, False),
    ("Answer: 30 degrees (A)", "A", True, True),
    ("Answer: The option is C. ", "C", True, False),  # stripped: "The option is C" has no "C. "
    ("Answer: C. is right", "C", True, True),
    ("\\boxed{A}", "a", True, True),  # case-insensitive equality
    ("\\boxed{12. }", "2", True, False),  # box content stripped to "12.", its period dropped: no "2. " left
    ("Answer: 12. So on", "2", True, True),  # "2. " in "12. So on": right on a multiple-choice item
    ("Answer: 12. So on", "2", False, False),
    ("\\boxed{(12)}", "12", True, True),
    ("\\boxed{(12)}", "12", False, True),
    ("\\boxed{(12) cm^2 total}", "12", False, False),
    ("Answer: 45", "45", True, True),
    ("Answer: 44", "45", True, False),
    ("Answer: Yes", "Yes", True, True),
    ("\\boxed{Not enough information}", "C", True, False),
    ("\\boxed{\\text{(B)}}", "B", True, True),
    # --- numeric and symbolic equivalence (mathruler grade_answer) ---
    ("Answer: 3.50", "3.5", False, True),
    ("Answer: 3.51", "3.5", False, False),
    ("Answer: $7$", "7", False, True),
    ("Answer: 7 degrees", "7", False, True),
    ("Answer: 7^\\circ", "7", False, True),
    ("Answer: \\sqrt{2}", "\\sqrt{2}", False, True),
    ("Answer: 2\\sqrt{2}", "\\sqrt{8}", False, True),
    ("Answer: 1.41", "\\sqrt{2}", False, False),
    ("Answer: -3", "-3", False, True),
    ("Answer: - 3", "-3", False, True),
    ("Answer: 3", "-3", False, False),
    ("Answer: 1000000", "1,000,000", False, True),
    ("Answer: 0.25", "1/4", False, True),
    ("Answer: 25%", "25", False, True),
    ("Answer: 2.5e3", "2500", False, True),
    ("Answer: 2.5e3", "250", False, False),
    ("Answer: x+1", "1+x", False, True),
    ("Answer: y+1", "1+x", False, False),
    ("Answer: 10**10**10", "7", False, False),  # a power tower never reaches sympy
]

HONEYBEE_TEXT_CASES = [  # the issue's examples: graded here as HoneyBee grades them
    ("7", "7", False, True),
    ("B", "B", True, True),
    ("(B)", "B", True, True),
    ("The final answer is B.", "B", True, False),
]


def test_the_table_is_large_and_has_both_outcomes():
    assert len(CASES) >= 150
    assert sum(c[3] for c in CASES) > 50 and sum(not c[3] for c in CASES) > 50
    assert list(ANSWER_KEYS) == KEYS  # the key list, in score.py's order


@pytest.mark.parametrize("response,gold,mcq,expected", CASES + HONEYBEE_TEXT_CASES)
def test_honeybee_grader_matches_score_py(response, gold, mcq, expected):
    assert honeybee_score.grade(response, gold, mcq) is expected
    assert grade(response, gold, ["x"] if mcq else None, grader="honeybee") is expected
    assert grade(response, gold, None, grader="honeybee", mcq=mcq) is expected


def test_strict_grader_differs_where_the_issue_says():
    assert not grade("7", "7", grader="strict")  # no box/tag/marker: an extraction failure
    assert grade("The final answer is B.", "B", ["a", "b"], grader="strict")
    assert score_completions(["7"], "7", grader="strict")["extraction_failed"] == 100.0


def test_honeybee_scores_flag_responses_graded_whole():
    scores = score_completions(["7"], "7", grader="honeybee")
    assert scores["accuracy"] == 100.0 and scores["extraction_failed"] == 100.0
    scores = score_completions(["\\boxed{8}", "\\boxed{7}", "Answer: 7"], "7", grader="honeybee", mcq=False)
    assert scores == {
        "accuracy": 0.0,
        "extraction_failed": 0.0,
        "maj@n": 100.0,
        "pass@n": 100.0,
        "mean@n": 100.0 * (2 / 3),
    }


def test_unknown_grader_is_refused():
    with pytest.raises(ValueError, match="unknown grader 'lenient'"):
        grade("7", "7", grader="lenient")
