"""HoneyBee's evaluation protocol, as constants. Source: facebookresearch/HoneyBee_VLM at 987a1cb,
``eval/data.py`` (hint lines, prompt layouts), ``eval/eval_plm_multi_hf.py`` (``INSTRUCTION``, the boxed suffix) and
``eval/score.py`` (``answer_keys``, in its order). These strings must stay byte-exact to reproduce HoneyBee's numbers;
the code that assembles them is ours (harness/protocols/prompts.py, harness/metrics/honeybee_score.py).
"""

# eval/eval_plm_multi_hf.py: INSTRUCTION, appended to every formatted instruction.
BOXED_SUFFIX = "\n\nYour final answer MUST BE put in \\boxed{}."

# eval/data.py: format_instruction / get_formatted_instruction hint lines.
HINT_OPTION_LETTER = (
    "Hint: Please answer the question and provide the correct option letter, e.g., A, B, C, D, E, at the end."
)
HINT_ANSWER = "Hint: Please answer the question requiring an answer."
HINT_YES_NO = "Hint: Please answer the question requiring an answer of Yes or No."
HINT_VISION = "Hint: Please answer the question shown in the image."
HINT_VISION_OPTIONS = " Provide the correct option letter, e.g., A, B, C, D, E, at the end."
HINT_FLOAT = (
    "Hint: Please answer the question and provide the numerical or float answer, e.g., 9, 2.5, 1.24 at "
    "the end."
)  # DynaMath answer_type 'float'
# DynaMath's hint by answer_type (other types get HINT_ANSWER), eval/data.py get_formatted_instruction.
DYNAMATH_HINTS = {"multiple choice": HINT_OPTION_LETTER, "float": HINT_FLOAT}
# GPQA's template (eval/data.py get_formatted_instruction): the hint, then "Problem: ...", then "Options: ...".
GPQA_PROBLEM, GPQA_OPTIONS = "Problem: ", "Options: "

# eval/score.py answer_keys, tried in this order; the first one present wins.
ANSWER_KEYS = (
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
)

# Bumped when our reproduction of score.py changes (part of every task hash that grades with it; prompts need no
# version: their text itself is hashed).
GRADER_VERSION = 1

# eval/data.py format_instruction: the layout around the hints.
QUESTION = "Question: "
CHOICES = "Choices:"
# eval/data.py process_response: gold answers found among the options become these letters (at most ten).
GOLD_LETTERS = "ABCDEFGHIJ"
# eval/data.py format_instruction(is_we_math=True): We-Math's option string is split on this and each part loses
# its first len("A. ") characters (mis-splitting options whose text holds "; " or lacks it between options).
WEMATH_SEPARATOR, WEMATH_LABEL_WIDTH = "; ", len("A. ")
