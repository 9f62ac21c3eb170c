"""Fixture code whose fingerprints are pinned in ../fingerprints.json (do not edit casually)."""
