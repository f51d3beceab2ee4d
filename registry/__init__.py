"""Registry's wiring: settings, the app factory, security, authorization, errors and the CLI."""
