"""The stores: all of the shop's SQL, one module per kind of record, each the one writer of its
tables. Statements are SQLAlchemy Core on the tables of shop.adapters.tables, run through
SQLAlchemy's public API on the unit of work's connection."""
