"""Use cases: each takes its collaborators (`ShopContext`) and `now`, and owns its transaction."""
