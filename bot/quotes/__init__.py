"""The saved-quote collection: SQLite store and the rules every front end shares."""
