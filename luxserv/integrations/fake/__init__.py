"""Local stand-ins for providers' APIs, for tests, benchmarks and offline demos. Never used in production."""
