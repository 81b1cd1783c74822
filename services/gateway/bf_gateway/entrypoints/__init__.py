"""HTTP routes (FastAPI) and bus consumers (FastStream): parse, call a handler, render."""
