"""The `citeqa` command line (cli.main:main), outside the engine: commands call the
engine, the ingest pipeline and the evals; nothing below imports them."""
