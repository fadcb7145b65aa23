"""Development tools kept outside the runtime package."""
