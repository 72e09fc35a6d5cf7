"""Use cases of the service: each composes custody/ logic with the database and the store."""
