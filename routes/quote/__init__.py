"""The quote calculator (融资额度测算): `quote(QuoteRequest) -> QuoteResult`, pure and exact."""

from routes.quote.engine import quote
from routes.quote.models import (
    Decision,
    QuoteRequest,
    QuoteResult,
    QuoteState,
    ReceivableStatus,
)

__all__ = ["Decision", "QuoteRequest", "QuoteResult", "QuoteState", "ReceivableStatus", "quote"]
