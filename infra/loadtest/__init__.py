"""A staged load test against a deployed stack: `make loadtest` (docs/operations.md)."""
