"""Settings per environment: base holds what they share, local/test/production override it."""
