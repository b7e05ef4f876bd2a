"""Custom Rasa NLU components of the back-pain assistant.

Rasa imports this package whenever it loads the pipeline (train, run, shell, test), so the
measured speed-up in `speedups` is installed in every Rasa process here.
"""

from components import speedups

speedups.install()
