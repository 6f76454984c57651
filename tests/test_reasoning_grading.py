"""HoneyBee-style answer extraction and grading: a table of responses, extracted answers and verdicts."""

import pytest

from harness.metrics.reasoning import extract_answer, grade, majority_answer, score_completions

MC = ["12", "15", "9", "20"]  # (A) 12 (B) 15 (C) 9 (D) 20; answer "B"

EXTRACTION = [
    ("The sum is 7, so \\boxed{7}.", "7"),
    ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
    ("\\boxed{\\frac{\\sqrt{3}}{2}}", "\\frac{\\sqrt{3}}{2}"),
    ("First \\boxed{3}, then corrected: \\boxed{4}", "4"),
    ("\\boxed{1} \\boxed{2} \\boxed{\\dfrac{3}{4}}", "\\dfrac{3}{4}"),
    ("\\boxed{ 12 }", "12"),
    ("\\boxed {12}", "12"),
    ("Put it in \\boxed{}. The answer is 5.", "5"),  # an empty box (the echoed instruction) is not an answer
    ("\\boxed{5} and then a truncated \\boxed{6", "5"),  # an unclosed final box falls back to the complete one
    ("<answer>B</answer>", "B"),
    ("<think>hmm</think><answer> 42 </answer>", "42"),
    ("<answer>1</answer> ... <answer>2</answer>", "2"),
    ("<answer>x</answer> but \\boxed{y}", "y"),  # the box wins over the tags
    ("Answer: 12.", "12"),
    ("answer: 12", "12"),
    ("The answer is (B).", "(B)"),
    ("Final answer: $\\frac{3}{4}$", "\\frac{3}{4}"),
    ("**Final Answer:** **7**", "7"),
    ("The final answer is 3.5.", "3.5"),
    ("The answer is 8\nbecause 5 + 3 = 8.", "8"),  # first line only
    ("Answer: 3\n...\nFinal answer: 4", "4"),  # the last marker
    ("I think it is seven", None),
    ("", None),
    ("   \n\t ", None),
    (None, None),
    ("\\boxed{}", None),
    ("Answer:", None),
]


@pytest.mark.parametrize("response, expected", EXTRACTION)
def test_extract_answer(response, expected):
    assert extract_answer(response) == expected


GRADING = [
    # boxed numbers, nesting, several boxes
    ("\\boxed{7}", "7", None, True),
    ("\\boxed{8}", "7", None, False),
    ("\\boxed{3} wait, no: \\boxed{4}", "4", None, True),
    ("\\boxed{4} wait, no: \\boxed{3}", "4", None, False),
    ("\\boxed{12.0}", "12", None, True),
    ("\\boxed{12,000}", "12000", None, True),
    ("\\boxed{-3}", "-3", None, True),
    # fractions vs decimals
    ("\\boxed{\\frac{1}{2}}", "0.5", None, True),
    ("\\boxed{0.5}", "\\frac{1}{2}", None, True),
    ("\\boxed{\\dfrac{1}{2}}", "1/2", None, True),
    ("\\boxed{\\tfrac{3}{4}}", "0.75", None, True),
    ("\\boxed{2/4}", "1/2", None, False),  # mathruler: unreduced fractions are not accepted
    ("\\boxed{0.333}", "1/3", None, False),
    ("\\boxed{\\frac{\\sqrt{2}}{2}}", "\\sqrt{2}/2", None, True),
    # LaTeX units and degrees
    ("\\boxed{45^\\circ}", "45", None, True),
    ("\\boxed{45^{\\circ}}", "45", None, True),
    ("\\boxed{45 degrees}", "45", None, True),
    ("\\boxed{45°}", "45", None, False),  # mathruler does not strip the unicode degree sign
    ("\\boxed{12 \\text{ cm}}", "12", None, True),
    ("\\boxed{12 cm}", "12", None, True),
    ("\\boxed{x = 5}", "5", None, True),
    ("\\boxed{\\text{blue}}", "Blue", None, True),
    ("\\boxed{3:15}", "3:15", None, True),
    # multiple choice: letters, "(B)", "B. text", full choice text
    ("\\boxed{B}", "B", MC, True),
    ("\\boxed{b}", "B", MC, True),
    ("\\boxed{A}", "B", MC, False),
    ("\\boxed{(B)}", "B", MC, True),
    ("\\boxed{B. 15}", "B", MC, True),
    ("\\boxed{B.}", "B", MC, True),
    ("\\boxed{\\text{B}}", "B", MC, True),
    ("\\boxed{15}", "B", MC, True),  # the text of the right choice
    ("\\boxed{12}", "B", MC, False),  # the text of a wrong choice
    ("\\boxed{(C) 9}", "B", MC, False),
    ("The answer is (B).", "B", MC, True),
    ("The answer is (A).", "B", MC, False),
    ("<answer>B</answer>", "B", MC, True),
    ("<answer>D</answer>", "B", MC, False),
    ("Answer: B. 15", "B", MC, True),
    ("Answer: Bob", "B", MC, False),
    ("\\boxed{(A) or (B)}", "B", MC, True),  # HoneyBee's rule: containing "(B)" is enough (hedging is not caught)
    # text fallbacks
    ("Answer: 12.", "12", None, True),
    ("So the answer is 12", "12", None, True),
    ("Final answer: 13", "12", None, False),
    ("<answer>\\frac{3}{4}</answer>", "0.75", None, True),
    # nothing extractable: always wrong
    ("I believe it is 12", "12", None, False),
    ("", "12", None, False),
    ("   ", "12", None, False),
    ("", "A", MC, False),
    ("\\boxed{12", "12", None, False),
    # answers that would make sympy evaluate a power tower are rejected quickly, not hung on
    ("\\boxed{10**10**10}", "1/2", None, False),
    ("\\boxed{9**9**9}", "B", ["P", "Q", "R", "S"], False),
]


@pytest.mark.parametrize("response, answer, choices, expected", GRADING)
def test_grade(response, answer, choices, expected):
    assert grade(response, answer, choices, grader="strict") is expected


def test_scores_first_completion_and_counts_extraction_failures():
    assert score_completions(["\\boxed{7}"], "7") == {
        "accuracy": 100.0,
        "extraction_failed": 0.0,
        "maj@n": 100.0,
        "pass@n": 100.0,
        "mean@n": 100.0,
    }
    assert score_completions([""], "7") == {
        "accuracy": 0.0,
        "extraction_failed": 100.0,
        "maj@n": 0.0,
        "pass@n": 0.0,
        "mean@n": 0.0,
    }
    assert score_completions(["\\boxed{8}"], "7")["extraction_failed"] == 0.0  # wrong is not a failure


def test_majority_vote_and_pass_at_n():
    s = score_completions(["\\boxed{7}", "\\boxed{5}", "\\boxed{5.0}", "no idea"], "5")  # 5 and 5.0 vote together
    assert s == {"accuracy": 0.0, "extraction_failed": 0.0, "maj@n": 100.0, "pass@n": 100.0, "mean@n": 50.0}
    s = score_completions(["\\boxed{4}", "\\boxed{7}", "\\boxed{7}", "\\boxed{5}"], "5")
    assert s == {"accuracy": 0.0, "extraction_failed": 0.0, "maj@n": 0.0, "pass@n": 100.0, "mean@n": 25.0}
    # Equivalent forms of one option vote together.
    s = score_completions(["", "\\boxed{(B)}", "Answer: B. 15", "\\boxed{A}"], "B", MC)
    assert s == {"accuracy": 0.0, "extraction_failed": 100.0, "maj@n": 100.0, "pass@n": 100.0, "mean@n": 50.0}
    assert majority_answer([None, None]) is None
    assert majority_answer(["3", "4"]) == "3"  # a tie goes to the first answer seen
    assert majority_answer(["\\frac{1}{2}", "0.5", "1"]) == "\\frac{1}{2}"
