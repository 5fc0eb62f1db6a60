"""The VAT invoice platform (全国增值税发票查验平台 via a provider, 数电票 XML download)."""

from simulators.vat.app import create_app

__all__ = ["create_app"]
