"""The `jtbench` command line (typer + rich)."""
