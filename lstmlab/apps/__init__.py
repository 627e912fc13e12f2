"""Applications of Chapter 21 built on the models: a character-level language model and a sequence classifier."""
