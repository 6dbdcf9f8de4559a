"""Which conversations have undelivered outbox items, known without reading the file.

The relay asks `Outbox.has_pending` for every customer message it relays, on
the event loop; the outbox answers from memory, read from its SQLite file when
it opens and kept in step with each write. A real outbox file, reopened as a
restarted Rasa server reopens it.
"""

from pathlib import Path
from typing import List

from rasa_handover.channels.outbox import KIND_HANDOVER, KIND_RELAY, Outbox


def test_pending_conversations_are_known_after_a_restart(tmp_path: Path) -> None:
    path = str(tmp_path / "outbox.db")
    outbox = Outbox(path, max_attempts=1)
    handover = outbox.add(KIND_HANDOVER, "c1", {"attempt": 1}, now=0)
    outbox.add(KIND_RELAY, "c1", {"text": "hello?"}, now=0)
    delivered = outbox.add(KIND_RELAY, "c2", {"text": "delivered"}, now=0)
    rejected = outbox.add(KIND_RELAY, "c3", {"text": "rejected"}, now=0)
    gave_up = outbox.add(KIND_RELAY, "c4", {"text": "gave up"}, now=0)
    outbox.delivered(handover, now=1)
    outbox.delivered(delivered, now=1)
    outbox.dead_letter(rejected, "rejected by the inbox", now=1)
    outbox.failed(gave_up, "down", now=1)  # The last try: a dead letter.
    outbox.close()

    reopened = Outbox(path)
    pending = {c: reopened.has_pending(c) for c in ("c1", "c2", "c3", "c4", "c5")}
    count = reopened.pending_count()
    [left] = reopened.due(now=2)
    reopened.delivered(left.id, now=2)

    assert pending == {"c1": True, "c2": False, "c3": False, "c4": False, "c5": False}
    assert count == 1
    assert (left.conversation_id, left.body) == ("c1", {"text": "hello?"})
    assert not reopened.has_pending("c1")
    assert reopened.pending_count() == 0
    reopened.close()


def test_asking_for_pending_items_reads_no_file(tmp_path: Path) -> None:
    outbox = Outbox(str(tmp_path / "outbox.db"))
    outbox.add(KIND_RELAY, "c1", {"text": "hello?"}, now=0)
    statements: List[str] = []
    # The outbox file's connection: every statement it runs.
    outbox._db.set_trace_callback(statements.append)

    answers = {outbox.has_pending(c) for c in ("c1", "c2") for _ in range(100)}
    count = outbox.pending_count()

    assert answers == {True, False} and count == 1
    assert statements == []
    outbox.close()
