"""The contract a build must meet (generated from the catalogue) and the preflight checking it."""
