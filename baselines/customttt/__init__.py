"""CustomTTT: the first public implementation, from its supplementary material."""
