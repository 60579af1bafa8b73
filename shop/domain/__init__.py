"""The contract as code: standard library, holidays, tzdata and transitions only; never the clock."""
