"""Storage machinery under every resource module: the database handle and its base model, the
declarative list engine, exact count tallies, bulk inserts, SQLite read budgets and the frozen
migrations. It knows no resource: models/<resource>.py declare tables and listings on it."""
