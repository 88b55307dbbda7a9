"""Rules for free text that the gateway stores.

PostgreSQL's text cannot hold a NUL character, so one in a stored string would
fail the database write (for call records, a whole batch of them). Refusing it
at the edge is a 422 for the sender and nothing for anyone else.
"""

NO_NUL = r"^[^\x00]*$"
