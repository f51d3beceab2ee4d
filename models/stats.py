"""Object statistics derived from files: file_count, size, payload_file_count, payload_size.

They are stored on intellectual_objects so that lists filter and sort on them through an index.
Every code path that writes files calls `refresh_object_stats` for the objects it touched, in
the same transaction, so readers never see counters out of step with the files.

Concurrent writers of one object's files (parallel batches of one bag) must not lose each
other's counts. On PostgreSQL each statement of a READ COMMITTED transaction reads its own
snapshot, and an UPDATE that waits for a row another writer holds evaluates its subqueries in
the snapshot it started with: two batches committing at once each wrote a count that missed
the other's files (8 concurrent batches of 100 left 500-600 of 800). So the objects' rows are
locked first, in ascending id order (so two writers of several objects never wait for each
other in a cycle), and only then recounted, by a statement whose snapshot begins after the
lock was granted: after every earlier writer of those objects committed. The last writer to
commit always counts everything committed before it. The lock is FOR NO KEY UPDATE, the one an
UPDATE takes: it does not conflict with the KEY SHARE locks that inserting files (a foreign key
to the object) takes, which FOR UPDATE would, deadlocking two batches of one object. SQLite
has one writer at a time, whose transaction holds the write lock from its start
(models.storage.db.write_transaction).
"""

from __future__ import annotations

from collections.abc import Iterable

from models.storage.db import database, is_postgres

# Active files only. A payload file is one under "<object identifier>/data/"; the prefix test
# is a range ('/data/' <= x < '/data0', '0' being the character after '/') so it can use the
# (institution_id, identifier) index and treats '%' and '_' in identifiers literally.
_REFRESH = """
UPDATE intellectual_objects SET
  file_count = (SELECT COUNT(*) FROM generic_files f
                WHERE f.intellectual_object_id = intellectual_objects.id AND f.state = 'A'),
  size = (SELECT COALESCE(SUM(f.size), 0) FROM generic_files f
          WHERE f.intellectual_object_id = intellectual_objects.id AND f.state = 'A'),
  payload_file_count = (SELECT COUNT(*) FROM generic_files f
          WHERE f.intellectual_object_id = intellectual_objects.id AND f.state = 'A'
            AND f.identifier >= intellectual_objects.identifier || '/data/'
            AND f.identifier < intellectual_objects.identifier || '/data0'),
  payload_size = (SELECT COALESCE(SUM(f.size), 0) FROM generic_files f
          WHERE f.intellectual_object_id = intellectual_objects.id AND f.state = 'A'
            AND f.identifier >= intellectual_objects.identifier || '/data/'
            AND f.identifier < intellectual_objects.identifier || '/data0')
WHERE id IN ({ids})
"""
_LOCK = "SELECT id FROM intellectual_objects WHERE id IN ({ids}) ORDER BY id FOR NO KEY UPDATE"

_CHUNK = 500


def refresh_object_stats(object_ids: Iterable[int]) -> None:
    """Recount the objects' counters from their active files; in the caller's transaction."""
    ids = sorted(set(object_ids))
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        placeholders = ", ".join([database.param] * len(chunk))
        if is_postgres():
            database.execute_sql(_LOCK.format(ids=placeholders), chunk)
        database.execute_sql(_REFRESH.format(ids=placeholders), chunk)
