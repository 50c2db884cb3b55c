"""Pure domain rules: no I/O, no database, no clock (callers pass `now`)."""
