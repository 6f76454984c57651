"""The judge contract: requests in, replies out, nothing about scores.

A request is an ordered list of parts (text, or an encoded image with its MIME type) forming one user message, as
a protocol lays it out. A reply carries the raw text, a status and the model name the server reported; the
judging stage stores both for every call.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from harness.errors import HarnessError

Status = Literal["ok", "refusal", "transport"]


@dataclass(frozen=True)
class Part:
    kind: Literal["text", "image"]
    text: str = ""
    data: bytes = b""
    mime: str = ""


@dataclass(frozen=True)
class JudgeRequest:
    parts: tuple[Part, ...]
    tag: Any = None  # the caller's handle (the stage uses it to route the reply back)


@dataclass
class JudgeReply:
    status: Status
    text: str = ""
    model: str = ""  # as reported by the server / the checkpoint in use
    error: str = ""  # transport: what went wrong (HTTP status, timeout, ...)
    latency: float = 0.0
    extra: dict = field(default_factory=dict)


class JudgeUnreachable(HarnessError):
    """The judge cannot be reached at all (connection refused, bad credentials): the run stops with one line and
    resumes from the stored calls when re-run."""


class NoArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Judge:
    name: ClassVar[str] = ""
    Args: ClassVar[type[BaseModel]] = NoArgs
    # Args that never change a reply (concurrency, retries, timeouts): left out of the fingerprint and cache keys.
    transport_args: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **judge_args: Any):
        try:
            self.args = self.Args(**judge_args)
        except ValidationError as e:
            err = e.errors()[0]
            field_ = ".".join(map(str, err["loc"]))
            raise HarnessError(f"--judge_args for {self.name or type(self).__name__}: {field_}: {err['msg']}") from None

    def fingerprint(self) -> str:
        """What decides the replies (endpoint, model, decoding settings): part of every judge cache key."""
        args = {k: v for k, v in self.args.model_dump().items() if k not in self.transport_args}
        blob = json.dumps([self.name, type(self).__qualname__, args], sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def describe(self) -> dict:
        return {"judge": self.name, **{k: v for k, v in self.args.model_dump().items()}}

    def complete(self, requests: Iterable[JudgeRequest]) -> Iterator[tuple[JudgeRequest, JudgeReply]]:
        """Answer each request, yielding (request, reply) as replies arrive (any order). Transport problems of one
        request are a ``transport`` reply; an unreachable judge raises JudgeUnreachable."""
        raise NotImplementedError
