"""Text shared by passages and questions: normalisation, tokenisers, sentences, translation."""
