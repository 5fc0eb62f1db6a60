"""ISO 20022 XSDs (pain.001.001.09, pain.002.001.10, camt.054.001.08), unmodified, published by
ISO for free use."""
