"""Video decoding, file layout, result tables and the artifact store."""
