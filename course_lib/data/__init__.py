"""Offline datasets for the course: copy/reverse, multilingual dates, and CMUdict G2P.

Everything is generated or read locally and is reproducible from a seed; see the submodules
``vocab``, ``batching``, ``copy_reverse``, ``dates`` and ``g2p``.
"""

from .batching import Batch, Example, alignment_matrix, batches, make_batch, show_batch
from .copy_reverse import make_copy_task
from .dates import FORMATS, LANGUAGES, DateExample, make_dates, render_date, split_dates
from .g2p import G2PExample, g2p_splits, load_cmudict, to_examples
from .vocab import EOS, PAD, SOS, UNK, Vocab, build_vocabs

__all__ = [
    "EOS",
    "FORMATS",
    "LANGUAGES",
    "PAD",
    "SOS",
    "UNK",
    "Batch",
    "DateExample",
    "Example",
    "G2PExample",
    "Vocab",
    "alignment_matrix",
    "batches",
    "build_vocabs",
    "g2p_splits",
    "load_cmudict",
    "make_batch",
    "make_copy_task",
    "make_dates",
    "render_date",
    "show_batch",
    "split_dates",
    "to_examples",
]
