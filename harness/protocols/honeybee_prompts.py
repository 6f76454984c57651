"""What HoneyBee's evaluation builds for each dataset, re-stated: the item it saves (its ``load_image_dataset``,
then the str/``eval`` round trip of ``InstanceDataset`` and the main loop of ``eval_plm_multi_hf.py``), the prompt
(``get_formatted_instruction`` + ``INSTRUCTION``), the gold (``get_processed_response``) and the multiple-choice
decision of ``score.py`` (``is_mcq``). Source: facebookresearch/HoneyBee_VLM at 987a1cb, eval/. Constants are in
harness/protocols/honeybee.py; readers call ``build`` with the dataset's raw fields.
"""

from __future__ import annotations

import ast

from harness.metrics.honeybee_score import is_mcq
from harness.protocols import honeybee as hb

# datasets whose gold is the raw response field (get_processed_response), the others go through process_response
RAW_GOLD = {"mmmu_pro", "wemath", "math500", "gpqa", "dynamath"}


class ProtocolError(ValueError):
    """HoneyBee's own code would crash on this row (e.g. options it cannot eval)."""


def roundtrip(value):
    """An options/choices field after HoneyBee's ``str(...)`` (None -> "") and ``eval`` back (kept as the string
    when it does not parse); ``ast.literal_eval`` stands in for ``eval``: both read the list literals found here."""
    if value is None:
        return ""
    text = str(value)
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def _choice_lines(options) -> str:
    return "\n".join(f"({chr(65 + i)}) {opt}" for i, opt in enumerate(options))


def format_instruction(
    instruction: str, options=None, yes_no: bool = False, vision: bool = False, is_we_math: bool = False
) -> str:
    """eval/data.py ``format_instruction``."""
    if is_we_math:
        options = [opt[hb.WEMATH_LABEL_WIDTH :] for opt in options.split(hb.WEMATH_SEPARATOR)]
    elif isinstance(options, str) and len(options) > 0:
        parsed = roundtrip(options)
        if isinstance(parsed, str):
            raise ProtocolError(f"options {options[:60]!r} are not a list literal (HoneyBee's eval() fails on them)")
        options = parsed
    if vision:
        hint = hb.HINT_VISION
        if options and len(options) > 0:
            return f"{hint}{hb.HINT_VISION_OPTIONS}\n{hb.CHOICES}\n{_choice_lines(options)}"
        return hint
    if yes_no:
        return f"{hb.HINT_YES_NO}\n{hb.QUESTION}{instruction}"
    if options and len(options) > 0:
        return f"{hb.HINT_OPTION_LETTER}\n{hb.QUESTION}{instruction}\n{hb.CHOICES}\n{_choice_lines(options)}"
    return f"{hb.HINT_ANSWER}\n{hb.QUESTION}{instruction}"


def formatted_instruction(dataset: str, item: dict) -> str:
    """eval/data.py ``get_formatted_instruction`` (without the boxed suffix)."""
    if dataset == "gpqa":
        return f"{hb.HINT_OPTION_LETTER}\n{hb.GPQA_PROBLEM}{item['instruction']}\n{hb.GPQA_OPTIONS}{item['options']}"
    if dataset == "dynamath":
        hint = hb.DYNAMATH_HINTS.get(item["answer_type"], hb.HINT_ANSWER)
        return f"{hint}\n{hb.QUESTION}{item['instruction']}"
    if dataset == "mathvision":
        return format_instruction(item["instruction"], item.get("options"))
    if dataset == "hallusionbench":
        return format_instruction(item["instruction"], yes_no=True)
    if dataset == "mmmu_pro":
        return format_instruction(item["instruction"], item.get("options"), vision=True)
    if dataset == "wemath":
        return format_instruction(item["instruction"], item.get("options"), is_we_math=True)
    return item["instruction"]


def _process_response(response: str, choices, options) -> str:
    """eval/data.py ``process_response``: the letter of the option equal to the gold, if any."""
    for pool in (choices, options):
        if pool is not None and len(pool) > 0:
            try:
                index = pool.index(response)
            except ValueError:
                continue
            if index >= len(hb.GOLD_LETTERS):
                raise ProtocolError(f"the gold is option {index + 1}, beyond HoneyBee's ten letters")
            return hb.GOLD_LETTERS[index]
    return response


def gold(dataset: str, item: dict) -> str:
    """eval/data.py ``get_processed_response``."""
    if dataset in RAW_GOLD:
        answer = item["response"]
    else:
        answer = _process_response(item["response"], item.get("choices"), item.get("options"))
    if dataset == "hallusionbench":
        answer = "Yes" if answer == "1" else "No"
    return answer


def build(dataset: str, item: dict) -> tuple[str, str, bool]:
    """(prompt text, gold, is_mcq) for HoneyBee's ``item`` of ``dataset`` (options/choices already round-tripped)."""
    return formatted_instruction(dataset, item) + hb.BOXED_SUFFIX, gold(dataset, item), is_mcq(item)
