"""Endpoints, one module per resource, functions named by operationId.

Each is a few lines: the spec has validated the input and registry.web.authz has checked the role;
a handler calls the data layer in a worker thread and shapes the response. A write is
`run_write(write, caller, ...)`, whose function returns the view; a 201 answers it with
`registry.web.locations.created`, whose `Location` comes from the spec.
"""
