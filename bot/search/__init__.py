"""The index and the ranking: BM25, search fields, question analysis, ranking, snippets."""
