"""Security: 国密 primitives (SM2, SM3, SM4 on native code), keys, the audit chain, TLS."""
