"""Scripts of the Makefile (`make run`)."""
