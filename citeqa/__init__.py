"""citeqa: question answering over your own documents with verified citations."""

from citeqa import _offline

_offline.apply()

__version__ = "0.1.0"
