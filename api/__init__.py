"""FastAPI adapter: the HTTP face of the custody service."""
