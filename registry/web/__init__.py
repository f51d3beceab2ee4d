"""Registry's HTTP plumbing: what wraps every request before the API's own code sees it."""
