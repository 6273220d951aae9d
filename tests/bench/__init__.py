"""`make bench`: the booking hot path under load, beside an HTTP floor and a DB floor.

Not a test: nothing here is collected by pytest (see run.py for what it prints)."""
