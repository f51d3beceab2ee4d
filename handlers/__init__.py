"""Endpoints, one module per resource, functions named by operationId.

Each is a few lines: the spec has validated the input and registry.web.authz has checked the role;
a handler calls the data layer in a worker thread and shapes the response.
"""
