"""One module per group of pages; each has its own router with the web route class."""
