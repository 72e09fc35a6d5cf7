"""The ``custody`` command line: server, client-over-HTTP and offline commands."""
