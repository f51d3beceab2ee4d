"""HTTP plumbing: the request pipeline, the one-pass GET path, the seam to Connexion, security,
authorization, binding, validation, problem answers, and the threads that run database work.

Imports run downward: registry.app wires this package; handlers/ use its responses, binding
and threads; nothing here imports handlers/ (the resolver finds them by operationId)."""
