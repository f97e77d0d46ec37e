"""The write path: load files, parse metadata, chunk, embed and store them."""
