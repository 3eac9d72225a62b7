"""Claims measurements (filled in by issue 17 work)."""
