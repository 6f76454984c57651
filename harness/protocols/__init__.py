"""Evaluation protocols by name: the exact constants (hint lines, answer suffixes, answer markers) a published
evaluation uses, one module per protocol with its source cited, and the prompt construction around them.

- ``honeybee``: facebookresearch/HoneyBee_VLM ``eval/data.py`` + ``eval/eval_plm_multi_hf.py`` (prompts) and
  ``eval/score.py`` (grading);
- ``native``: each benchmark's own recommended prompt (harness/protocols/native.py).

A task's protocol (``options.protocol``) and grader (``options.grader``) are part of its hash, and so is the prompt
text of every sample (harness/kinds/reasoning.py).
"""
