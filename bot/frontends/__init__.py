"""Front ends over the core: CLI, terminal console, Discord. The core never imports these."""
