"""`luxserv sync guesty` end to end against a local fake Guesty, compared with fetching the same pages alone."""
