"""Everything that reads or runs git: the only package that starts git processes or reads git objects."""
