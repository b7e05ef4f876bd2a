"""Custom Rasa NLU components of the back-pain assistant."""
