"""Tests of the custom input channels (against fake remote APIs on 127.0.0.1)."""
