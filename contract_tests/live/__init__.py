"""The live contract run: the production stack tested over HTTP by the Schemathesis CLI (run.sh)."""
