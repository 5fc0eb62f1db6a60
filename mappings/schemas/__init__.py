"""ISO 20022 XSDs (pain.001.001.09, pain.002.001.10, camt.054.001.08, pacs.008.001.02 for the
CNAPS2 hvps.111 body), shipped as package data and loaded by `mappings._xsd`."""
