"""`make bench`: the shop under uvicorn as in production, driven over loopback (not a pytest suite)."""
