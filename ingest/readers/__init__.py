"""Readers: each turns a file's bytes into text, one module per family of formats
(base: plain text and Markdown; html; pdf; office: docx, pptx, odt, epub, csv, xlsx,
ods), all with one signature, `read(data, name) -> LoadedDocument`. The registry
(registry.py) maps a file name's suffix to its reader. The package imports none of its
modules."""
