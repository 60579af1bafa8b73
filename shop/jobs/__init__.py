"""Operations tasks behind the Makefile: `python -m shop.jobs <task>`."""
