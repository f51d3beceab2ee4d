"""Demo and fixture seeding: the demo data set (`registry demo`) and the reference fixtures
loaded through the admin API or straight into the tables (`registry fixtures load`).

Used by the CLI and the tests; the served app never imports it."""
