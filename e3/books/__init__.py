"""Books in: sources, parsing, text for the ear and chunking."""
