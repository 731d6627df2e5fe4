"""HTTP: the product API, its web pages, and helpers to run FastAPI apps."""
