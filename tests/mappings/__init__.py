"""Tests of the pure mappings (ERP pushes, pain.001, pain.002)."""
