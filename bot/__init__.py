"""Interview Quote Bot: answers questions about recorded interviews in the speaker's own words.

The core (everything but ``bot.frontends``) knows nothing of Discord or any front end:
transcript parsing -> normalised tokens -> BM25 index -> answers, topics and quotes as plain data.
"""

__version__ = "0.1.0"
