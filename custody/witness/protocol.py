"""C2SP tlog-witness ``add-checkpoint``: parse the request, decide it, cosign or refuse.

The decision follows the spec's order and status codes: a malformed body or an old size
above the checkpoint's is 400; an unknown origin 404; no signature by a trusted log key 403;
an old size other than the one last cosigned 409 (with that size in ``text/x.tlog.size``),
as is the same size with another root; a consistency proof that does not verify 422. Only
then is the record replaced — atomically with the check, under one lock — and the
cosignature returned. So the witness never rolls back and never cosigns two roots for one
size.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from custody import b64
from custody.checkpoint import VerifierKey, open_checkpoint, parse_checkpoint, split_note
from custody.cosignature import WitnessSigningKey
from custody.errors import CheckpointError, CustodyError, ProofError
from custody.merkle import verify_consistency
from custody.witness.state import Record, WitnessState

MAX_PROOF_LINES = 63
MAX_BODY = 64 * 1024
SIZE_CONTENT_TYPE = "text/x.tlog.size"


@dataclass(frozen=True, kw_only=True)
class Answer:
    """An HTTP answer: status, content type and body."""

    status: int
    body: str
    content_type: str = "text/plain; charset=utf-8"


@dataclass(frozen=True, kw_only=True)
class Request:
    old: int
    proof: tuple[bytes, ...]
    note: str


class Refused(Exception):
    """An add-checkpoint request the witness must refuse with ``answer``."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.body)
        self.answer = answer


def _refuse(status: int, message: str) -> Refused:
    return Refused(Answer(status=status, body=message.rstrip("\n") + "\n"))


def _conflict(size: int) -> Refused:
    return Refused(Answer(status=409, body=f"{size}\n", content_type=SIZE_CONTENT_TYPE))


def parse_request(body: bytes) -> Request:
    """``old <size>\\n``, up to 63 base64 proof lines, an empty line, then the checkpoint."""
    if len(body) > MAX_BODY:
        raise _refuse(400, f"request body larger than {MAX_BODY} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _refuse(400, "request body is not UTF-8") from None
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise _refuse(400, "no empty line between the old size and proof lines and the checkpoint")
    lines = head.split("\n")
    first = lines[0]
    number = first.removeprefix("old ")
    if first == number or not number.isdigit() or (number != "0" and number.startswith("0")):
        raise _refuse(400, "the first line must be 'old <size>' in decimal, no leading zeroes")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise _refuse(400, f"more than {MAX_PROOF_LINES} consistency proof lines")
    try:
        proof = tuple(b64.decode(line, "consistency proof line") for line in lines[1:])
    except CustodyError as e:
        raise _refuse(400, e.message) from None
    if any(len(h) != 32 for h in proof):
        raise _refuse(400, "a consistency proof line is not a 32-byte hash")
    return Request(old=int(number), proof=proof, note=note)


class Witness:
    """Cosigns checkpoints of the logs it knows, consistent with all it cosigned before."""

    def __init__(
        self,
        key: WitnessSigningKey,
        state: WitnessState,
        log_keys: Sequence[VerifierKey],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.key = key
        self.state = state
        self.logs: Mapping[str, list[VerifierKey]] = _by_origin(log_keys)
        self.clock = clock
        self._lock = threading.Lock()  # check-then-persist must be atomic (tlog-witness)

    def add_checkpoint(self, body: bytes) -> Answer:
        try:
            return self._add(parse_request(body))
        except Refused as e:
            return e.answer

    def _add(self, request: Request) -> Answer:
        try:
            text, _ = split_note(request.note)
            checkpoint = parse_checkpoint(text)
        except CheckpointError as e:
            raise _refuse(400, f"malformed checkpoint: {e.message}") from None
        keys = self.logs.get(checkpoint.origin)
        if keys is None:
            raise _refuse(404, f"unknown log origin {checkpoint.origin!r}")
        try:
            open_checkpoint(request.note, keys)
        except CheckpointError as e:
            raise _refuse(
                403, f"no valid signature by a known key of this log: {e.message}"
            ) from None
        if request.old > checkpoint.size:
            raise _refuse(400, f"old size {request.old} is above the checkpoint size")
        with self._lock:
            record = self.state.get(checkpoint.origin)
            current = record.size if record is not None else 0
            if request.old != current:
                raise _conflict(current)
            if record is not None and record.size == checkpoint.size:
                if record.root != checkpoint.root:
                    self.state.keep_evidence(
                        checkpoint.origin, checkpoint.size, checkpoint.root, request.note
                    )
                    raise _conflict(current)
            elif request.old == 0:
                if request.proof:
                    raise _refuse(400, "the consistency proof must be empty when old size is 0")
            else:
                assert record is not None
                try:
                    verify_consistency(
                        first=record.size,
                        second=checkpoint.size,
                        proof=request.proof,
                        first_root=record.root,
                        second_root=checkpoint.root,
                    )
                except ProofError as e:
                    self.state.keep_evidence(
                        checkpoint.origin, checkpoint.size, checkpoint.root, request.note
                    )
                    raise _refuse(
                        422, f"not consistent with size {record.size}: {e.message}"
                    ) from None
            self.state.put(
                Record(
                    origin=checkpoint.origin,
                    size=checkpoint.size,
                    root=checkpoint.root,
                    note=request.note,
                )
            )
        line = self.key.cosign(text, int(self.clock()))
        return Answer(status=200, body=line.line())


def _by_origin(keys: Sequence[VerifierKey]) -> dict[str, list[VerifierKey]]:
    """A log's checkpoints are signed by keys named like its origin."""
    found: dict[str, list[VerifierKey]] = {}
    for key in keys:
        found.setdefault(key.name, []).append(key)
    return found
