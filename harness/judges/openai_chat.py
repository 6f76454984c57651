"""``openai-chat``: any OpenAI-compatible chat-completions endpoint (vLLM, SGLang, a hosted API).

One user message per request (the protocol's parts in order: text, and images as base64 data URLs), explicit
decoding settings (temperature / max_tokens are sent only when given: GEdit-Bench's GPT-4.1 calls leave temperature
unset), the API key read from a named environment variable (never stored), bounded concurrency, retries with
exponential backoff on 429 / 5xx / timeouts (honouring Retry-After), a per-call timeout. Connection refused or
bad credentials stop the run with one line naming the URL; it resumes from the stored calls.
"""

from __future__ import annotations

import base64
import os
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from pydantic import BaseModel, ConfigDict, Field

from harness.judges import register_judge
from harness.judges.base import Judge, JudgeReply, JudgeRequest, JudgeUnreachable

RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


class OpenAIChatArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    base_url: str = Field(pattern=r"^https?://")  # e.g. http://127.0.0.1:8000/v1
    model: str
    api_key_env: str = "OPENAI_API_KEY"  # name of the variable holding the key; unset variable = no auth header
    temperature: float | None = Field(None, ge=0)
    max_tokens: int | None = Field(None, ge=1)
    seed: int | None = None
    concurrency: int = Field(8, ge=1, le=256)
    max_retries: int = Field(5, ge=0)
    backoff: float = Field(1.0, ge=0)  # seconds; attempt k waits backoff * 2**k (capped at 60 s)
    timeout: float = Field(120.0, gt=0)  # seconds per call


@register_judge("openai-chat")
class OpenAIChatJudge(Judge):
    """An OpenAI-compatible chat-completions endpoint (base_url, model, api_key_env, temperature, max_tokens)."""

    Args = OpenAIChatArgs
    transport_args = ("concurrency", "max_retries", "backoff", "timeout", "api_key_env")

    def __init__(self, **judge_args):
        super().__init__(**judge_args)
        self.url = self.args.base_url.rstrip("/") + "/chat/completions"
        self._local = threading.local()

    def describe(self) -> dict:
        return {"judge": self.name, **self.args.model_dump()}  # the key's variable name, never the key

    def _session(self):
        import requests

        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def payload(self, request: JudgeRequest) -> dict:
        content = []
        for part in request.parts:
            if part.kind == "text":
                content.append({"type": "text", "text": part.text})
            else:
                url = f"data:{part.mime};base64,{base64.b64encode(part.data).decode()}"
                content.append({"type": "image_url", "image_url": {"url": url}})
        body = {"model": self.args.model, "messages": [{"role": "user", "content": content}]}
        for key in ("temperature", "max_tokens", "seed"):
            if getattr(self.args, key) is not None:
                body[key] = getattr(self.args, key)
        return body

    def _call(self, request: JudgeRequest) -> JudgeReply:
        import requests

        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.args.api_key_env, "")
        if key:
            headers["Authorization"] = f"Bearer {key}"
        body = self.payload(request)
        start = time.monotonic()
        error = ""
        for attempt in range(self.args.max_retries + 1):
            wait_s = min(60.0, self.args.backoff * 2**attempt)
            try:
                resp = self._session().post(self.url, json=body, headers=headers, timeout=self.args.timeout)
            except requests.exceptions.Timeout:
                error = f"timeout after {self.args.timeout:g} s"
            except requests.exceptions.ConnectionError as e:  # refused or reset: retried, then the run stops
                if attempt == self.args.max_retries:
                    raise JudgeUnreachable(
                        f"judge endpoint {self.url} unreachable ({type(e).__name__}); "
                        f"re-run to resume from the stored calls"
                    ) from None
                error = type(e).__name__
            else:
                if resp.status_code in (401, 403):
                    raise JudgeUnreachable(
                        f"judge endpoint {self.url} refused the credentials (HTTP "
                        f"{resp.status_code}); check ${self.args.api_key_env}"
                    )
                if resp.status_code == 200:
                    return self._reply(resp, time.monotonic() - start)
                error = f"HTTP {resp.status_code}"
                if resp.status_code not in RETRY_STATUS:
                    break
                retry_after = resp.headers.get("Retry-After", "")
                if retry_after.replace(".", "", 1).isdigit():
                    wait_s = min(60.0, float(retry_after))
            if attempt < self.args.max_retries:
                time.sleep(wait_s)
        return JudgeReply(
            "transport", error=f"{error} (after {self.args.max_retries + 1} attempts)", latency=time.monotonic() - start
        )

    @staticmethod
    def _reply(resp, latency: float) -> JudgeReply:
        try:
            body = resp.json()
            choice = body["choices"][0]
            message = choice.get("message") or {}
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            return JudgeReply("transport", error=f"malformed response body: {resp.text[:200]!r}", latency=latency)
        model = str(body.get("model") or "")
        text = message.get("content") or ""
        if isinstance(text, list):  # some servers return content parts
            text = "".join(p.get("text", "") for p in text if isinstance(p, dict))
        refused = message.get("refusal") or choice.get("finish_reason") == "content_filter"
        if refused or not str(text).strip():
            return JudgeReply(
                "refusal",
                text=str(message.get("refusal") or text),
                model=model,
                latency=latency,
                extra={"finish_reason": choice.get("finish_reason")},
            )
        return JudgeReply(
            "ok", text=str(text), model=model, latency=latency, extra={"finish_reason": choice.get("finish_reason")}
        )

    def complete(self, requests: Iterable[JudgeRequest]) -> Iterator[tuple[JudgeRequest, JudgeReply]]:
        """At most ``concurrency`` calls in flight and 2x that many requests built: memory stays flat in N."""
        it = iter(requests)
        with ThreadPoolExecutor(max_workers=self.args.concurrency) as pool:
            running = {}
            exhausted = False
            try:
                while True:
                    while not exhausted and len(running) < 2 * self.args.concurrency:
                        req = next(it, None)
                        if req is None:
                            exhausted = True
                            break
                        running[pool.submit(self._call, req)] = req
                    if not running:
                        return
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for fut in done:
                        req = running.pop(fut)
                        yield req, fut.result()
            finally:
                for fut in running:
                    fut.cancel()
