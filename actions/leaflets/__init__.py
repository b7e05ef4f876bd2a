"""Answers from the practice's own leaflets: read, split into passages, index, search, cite.

Pure logic without Rasa types: `documents` reads PDF, HTML, Markdown and text files into
headed blocks, `passages` splits them, `analysis` turns Dutch text into search terms,
`index` builds, saves and searches the BM25 index, `replies` words the answers.
"""
