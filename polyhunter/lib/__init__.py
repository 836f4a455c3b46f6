"""Framework-free helpers (money, addresses) with their own tests."""
