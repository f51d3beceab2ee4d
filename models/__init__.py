"""Data layer: Peewee models, the generic listing engine and the schema migrations.

Nothing here knows about HTTP; handlers call in, models answer with plain data.
"""
