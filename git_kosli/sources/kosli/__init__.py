"""Kosli's API as a snapshot source: the client, its JSON, the cache of what cannot change, and the source."""
