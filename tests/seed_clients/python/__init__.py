"""The seeds' Python clients, one module per seed."""
