"""What commands print: text for people and JSON for scripts, one module per command. Pure."""
