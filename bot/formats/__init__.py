"""Reading interviews from disk: the article format, captions, metadata, data dirs."""
