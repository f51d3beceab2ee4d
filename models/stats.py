"""Object statistics derived from files: file_count, size, payload_file_count, payload_size.

They are stored on intellectual_objects so that lists filter and sort on them through an index.
Every code path that writes files calls `refresh_object_stats` for the objects it touched, in
the same transaction, so readers never see counters out of step with the files.
"""
from __future__ import annotations

from typing import Iterable

from models.db import database

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

_CHUNK = 500


def refresh_object_stats(object_ids: Iterable[int]) -> None:
    ids = sorted(set(object_ids))
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        placeholders = ", ".join([database.param] * len(chunk))
        database.execute_sql(_REFRESH.format(ids=placeholders), chunk)
