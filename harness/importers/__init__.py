"""Importers: rule files and SLO specs in standard formats turned into catalogue entries."""
