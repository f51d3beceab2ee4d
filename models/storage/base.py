"""Base model and field types shared by every table."""

from __future__ import annotations

import datetime as dt

import peewee

from models.storage.db import database


def utcnow() -> dt.datetime:
    """Naive UTC: every timestamp column is `timestamp without time zone`, UTC by convention."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class _BinaryCollation:
    """Text compared byte by byte on PostgreSQL, as SQLite's default BINARY collation does.

    Identifier prefix filters are range scans (`>= p AND < p || U+10FFFF`); they are only
    correct, and only use the index, when the column sorts by code point. A locale collation
    (en_US) would reorder punctuation and case and silently drop rows.
    """

    def ddl(self, ctx):
        node = super().ddl(ctx)
        if isinstance(self.model._meta.database.obj, peewee.PostgresqlDatabase):
            return peewee.NodeList((node, peewee.SQL('COLLATE "C"')))
        return node


class Text(_BinaryCollation, peewee.TextField):
    pass


class Char(_BinaryCollation, peewee.CharField):
    pass


class BaseModel(peewee.Model):
    class Meta:
        database = database
        legacy_table_names = False
