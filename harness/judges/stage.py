"""The judging stage: after the edits are generated (and stored under the run's generation key), ask the judge
each protocol role about each edit, store every call as its reply arrives, and turn replies into per-sample scores
or counted failures.

Failures are never averaged in: a transport failure (after the judge's own retries), a refusal, or a reply that
does not parse after the protocol's own retry round leaves the sample without judge scores and is listed as
``judge <cause>: ...``. ``--judge_failure_policy official`` applies the official script's fallback instead (VIEScore:
the seeded guess) and the run records the policy in its spec.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from harness.judges.base import Judge, JudgeRequest
from harness.judges.protocols import Protocol
from harness.spec import stable_hash
from harness.store import Record, RunStore

CAUSES = ("transport", "refusal", "parse")


@dataclass
class JudgeSession:
    judge: Judge
    protocol: Protocol
    policy: str = "exclude"

    def key(self) -> str:
        """The run's judge identity: judge (name + reply-deciding args) and protocol (templates, layout, parser
        version). Part of the run spec."""
        return stable_hash([self.judge.name, self.judge.fingerprint(), self.protocol.identity()])[:32]

    def calls_key(self) -> str:
        """Identity of the replies: the judge and what is sent (not how replies are parsed), so a fixed parser
        re-scores the stored replies without asking again."""
        return stable_hash([self.judge.name, self.judge.fingerprint(), self.protocol.request_identity()])[:32]

    def describe(self) -> dict:
        return {
            **self.judge.describe(),
            **self.protocol.identity(),
            "failure_policy": self.policy,
            "judge_key": self.key(),
        }


def call_key(judge_key: str, sample_id: str, digest: bytes, output: bytes, role: str, attempt: int) -> str:
    h = hashlib.sha256(f"{judge_key}\0{sample_id}\0{role}\0{attempt}\0".encode())
    h.update(digest)
    h.update(hashlib.sha256(output).digest())
    return h.hexdigest()[:32]


def run(
    task,
    session: JudgeSession,
    store: RunStore,
    units: list,
    gen_records: dict[str, Record],
    generation_key: str,
    progress=None,
) -> tuple[dict[str, Record], dict[str, str]]:
    """Judge every successfully generated, scored unit. Returns (records with reference + judge scores, judge
    failures {sample id: "judge <cause>: detail"}). Raises JudgeUnreachable (a HarnessError) when the judge cannot
    be reached; the calls stored so far are kept."""
    jkey, protocol = session.calls_key(), session.protocol
    items = [
        (u, gen_records[u.id])
        for u in units
        if task.is_scored(u) and u.id in gen_records and gen_records[u.id].error is None
    ]
    digests = {u.id: task.sample_digest(u) for u, _ in items}
    done: dict[str, dict[str, float]] = {}
    failures: dict[str, str] = {}
    calls_of: dict[str, dict[str, str]] = {}
    pending = items
    for attempt in range(protocol.retries + 1):
        last = attempt == protocol.retries
        keys = {
            (u.id, role): call_key(jkey, u.id, digests[u.id], rec.output, role, attempt)
            for u, rec in pending
            for role in protocol.roles
        }
        replies = store.judge_calls(list(keys.values()), settled_only=True)
        todo = [(u, rec, role) for u, rec in pending for role in protocol.roles if keys[(u.id, role)] not in replies]
        if progress:
            progress(0, len(todo))

        def requests(todo=todo, keys=keys):
            for u, rec, role in todo:  # built lazily: at most a few requests' images live at once
                req = protocol.build(u, task.decode(rec.output), role)
                yield JudgeRequest(req.parts, tag=(u.id, role, keys[(u.id, role)]))

        for req, reply in session.judge.complete(requests()):
            sid, role, key = req.tag
            call = {
                "call_key": key,
                "judge_key": jkey,
                "sample_id": sid,
                "role": role,
                "attempt": attempt,
                "status": reply.status,
                "text": reply.text,
                "model": reply.model,
                "error": reply.error,
                "latency": reply.latency,
            }
            store.put_judge_calls([call])  # one commit per reply: a crash loses at most the calls in flight
            replies[key] = call
            if progress:
                progress(1, len(todo))
        retry = []
        for u, rec in pending:
            calls = {role: replies.get(keys[(u.id, role)]) for role in protocol.roles}
            calls_of.setdefault(u.id, {}).update(  # role -> call key; a retry round's calls as "role#1"
                {(role if attempt == 0 else f"{role}#{attempt}"): keys[(u.id, role)] for role in protocol.roles}
            )
            bad = {role: c for role, c in calls.items() if c is None or c["status"] != "ok"}
            if bad:
                role, c = next(iter(bad.items()))
                cause = "transport" if c is None or c["status"] == "transport" else "refusal"
                detail = (c or {}).get("error") or (c or {}).get("text") or "no reply"
                failures[u.id] = f"judge {cause}: {role}: {' '.join(str(detail).split())[:200]}"
                continue
            give_up = last and session.policy == "official"
            parsed = {role: protocol.parse(role, c["text"], give_up=give_up) for role, c in calls.items()}
            if all(v is not None for v in parsed.values()):
                done[u.id] = protocol.combine(parsed)
            elif not last:
                retry.append((u, rec))
            else:
                role = next(r for r, v in parsed.items() if v is None)
                text = " ".join(calls[role]["text"].split())[:200]
                failures[u.id] = f"judge parse: {role}: {text!r}"
        pending = retry
    records = {}
    for u, rec in items:
        scores = {**(rec.scores or {}), **done.get(u.id, {})}
        info = {"generation_key": generation_key, "judge_key": jkey, "judge_calls": calls_of.get(u.id, {})}
        if u.id in failures:
            info["judge_failure"] = failures[u.id]
        records[u.id] = Record(u.id, None, scores, info, None)
    return records, failures


def failure_counts(failures: dict[str, str]) -> dict[str, int]:
    """{cause: count} over judge failures (``judge <cause>: ...``)."""
    counts = {c: 0 for c in CAUSES}
    for err in failures.values():
        for cause in CAUSES:
            if err.startswith(f"judge {cause}:"):
                counts[cause] += 1
    return counts
