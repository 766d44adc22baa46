"""Model versions: found, loaded and unloaded as the export root changes (hot reload)."""
