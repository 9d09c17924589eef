"""Built-in checks. Each module is one check; hosts add their own by dotted path."""
