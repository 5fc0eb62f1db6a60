"""Hostile inputs through the real HTTP ingress (uvicorn on a socket) are refused cleanly: a 4xx
that names the field or the problem, nothing stored (no request, document or outbox row), and
a normal push right after still accepted.

One hub serves the whole module, so every refusal is also checked against a hub that has
already taken all the hostile inputs before it; ERP pushes are mapped in a worker process (as
on a multi-core host), documents in the hub's own.
"""

from __future__ import annotations

import asyncio
import codecs
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from hub.app import Hub
from hub.config import Settings
from hub.persistence.tables import DocumentRow, OutboxRow, RequestRow
from hub.serving import running_ingress
from simulators.erp.dataset import generate_companies, generate_invoices
from simulators.erp.payloads import render

LIMIT = 2 * 1024 * 1024
"""The body limit of this hub: large enough for a 1 MB number or string to reach the mapper."""
FIXTURES = Path(__file__).parents[1] / "mappings" / "fixtures"
COMPANIES = generate_companies(17, sellers=2, buyers=2)
CASES = generate_invoices(17, 400, COMPANIES, {})
KINGDEE_CASES = [c for c in CASES if c.vendor == "kingdee"]
YONYOU_CASES = [c for c in CASES if c.vendor == "yonyou"]
KINGDEE_PATH = "/v1/erp/kingdee/invoices"
YONYOU_PATH = "/v1/erp/yonyou/invoices"
JSON_TYPE = {"content-type": "application/json"}
XML_TYPE = {"content-type": "application/xml"}
BODY_ENDPOINTS = [
    KINGDEE_PATH,
    YONYOU_PATH,
    "/v1/ingest/kingdee-sales-invoice",
    "/v1/ingest/bank",
    "/v1/calc",
    "/v1/repayments",
    "/v1/bank/pain002",
    "/v1/bank/camt054",
    "/v1/ecny/notify",
]


@dataclass
class Ingress:
    hub: Hub
    url: str
    client: httpx.AsyncClient
    fresh: Iterator[bytes]
    """A Kingdee push not sent yet (each valid push must create a request)."""

    async def stored(self) -> tuple[int, int, int]:
        """(financing_requests, documents, outbox) rows."""
        async with self.hub.units() as uow:
            counts = [
                await uow.session.scalar(select(func.count()).select_from(table))
                for table in (RequestRow, DocumentRow, OutboxRow)
            ]
        return (int(counts[0] or 0), int(counts[1] or 0), int(counts[2] or 0))

    async def refused(
        self, path: str, content: bytes, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        """POST a hostile body: nothing may be stored, and the hub takes a normal push after."""
        before = await self.stored()
        sent = JSON_TYPE if headers is None else headers
        answer = await self.client.post(path, content=content, headers=sent)
        assert 400 <= answer.status_code < 500, answer.text
        assert await self.stored() == before, f"{path} stored something for a refused body"
        await self.still_accepts_a_push()
        return answer

    async def still_accepts_a_push(self) -> None:
        before = await self.stored()
        answer = await self.client.post(KINGDEE_PATH, content=next(self.fresh), headers=JSON_TYPE)
        assert answer.status_code == 202, answer.text
        assert answer.json()["status"] == "accepted"
        requests, documents, outbox = before
        assert await self.stored() == (requests + 1, documents, outbox + 1)


@pytest.fixture(scope="module")
async def ingress(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Ingress]:
    database = tmp_path_factory.mktemp("hostile") / "hub.db"
    settings = replace(
        Settings.from_env({}),
        database_url=f"sqlite+aiosqlite:///{database}",
        max_body_bytes=LIMIT,
        ingress_workers=1,
    )
    async with (
        Hub(settings, consume=False) as hub,
        running_ingress(hub) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        yield Ingress(hub, url, client, (render(c) for c in KINGDEE_CASES[2:]))


def _problems(answer: httpx.Response) -> list[dict[str, Any]]:
    return list(answer.json()["problems"])


def _kingdee(case: int = 0) -> dict[str, Any]:
    """A valid Kingdee push: case 0 is only ever sent spoiled, case 1 once, folded."""
    body = json.loads(render(KINGDEE_CASES[case]))
    if isinstance(body["data"], str):
        body["data"] = json.loads(body["data"])
    return dict(body)


def _yonyou() -> dict[str, Any]:
    return dict(json.loads(render(YONYOU_CASES[0])))


def _encoded(body: dict[str, Any]) -> bytes:
    """ASCII JSON: NUL and lone surrogates travel as the escapes `\\u0000`, `\\ud800`."""
    return json.dumps(body, ensure_ascii=True).encode()


# -- huge bodies ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", BODY_ENDPOINTS)
async def test_every_endpoint_refuses_a_body_over_the_limit_with_413(ingress, path):
    answer = await ingress.refused(path, b" " * (LIMIT + 1), {})
    assert answer.status_code == 413
    assert answer.json() == {"error": "body too large", "limit_bytes": LIMIT}


async def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_sent(ingress):
    host, port = ingress.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        f"POST {KINGDEE_PATH} HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n"
        f"Content-Length: {10 * 1024**3}\r\n\r\n".encode()  # 10 GiB announced, none sent
    )
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    writer.close()
    assert head.startswith(b"HTTP/1.1 413 ")
    assert b"connection: close" in head.lower()
    await ingress.still_accepts_a_push()


async def test_a_chunked_body_over_the_limit_is_refused_while_it_is_still_arriving(ingress):
    """No Content-Length: the ingress counts the chunks and answers as soon as the running size
    passes the limit, long before the 64 MB the client would send; nothing is held whole."""
    before = await ingress.stored()
    host, port = ingress.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        f"POST {KINGDEE_PATH} HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n".encode()
    )
    chunk = b"[" * 65536
    sent, head = 0, b""
    while sent < 64 * 1024**2 and not head:
        writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        await writer.drain()
        sent += len(chunk)
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 0.01)
        except TimeoutError:
            continue
    writer.close()
    assert head.startswith(b"HTTP/1.1 413 "), f"no answer after {sent} bytes"
    assert sent < 4 * LIMIT  # answered mid-body, not after reading it all
    assert await ingress.stored() == before
    await ingress.still_accepts_a_push()


async def test_a_compressed_body_is_refused_415_and_never_inflated(ingress):
    answer = await ingress.refused(
        KINGDEE_PATH, b"\x1f\x8b\x08\x00" + b"\x00" * 64, {**JSON_TYPE, "content-encoding": "gzip"}
    )
    assert answer.status_code == 415
    assert "gzip" in answer.json()["error"]


# -- deeply nested JSON, long numbers and strings ---------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (KINGDEE_PATH, b"[" * 100_000),
        (KINGDEE_PATH, b'{"a":' * 100_000),
        (YONYOU_PATH, b"[" * 100_000),
        ("/v1/ingest/kingdee-sales-invoice", b"[" * 100_000),
        ("/v1/ingest/zhongdeng-registration-record", b'{"a":' * 100_000),
    ],
)
async def test_json_nested_100000_deep_is_refused_quickly_with_422(ingress, path, body):
    started = time.perf_counter()
    answer = await ingress.refused(path, body)
    elapsed = time.perf_counter() - started
    assert answer.status_code == 422
    assert _problems(answer) == [
        {"path": "", "value": None, "reason": "not valid JSON: nested too deeply"}
    ]
    assert elapsed < 1.0


async def test_deep_nesting_inside_a_double_encoded_payload_is_refused_at_its_field(ingress):
    body = {"formid": "IV_SALESIC", "data": "[" * 100_000}
    answer = await ingress.refused(KINGDEE_PATH, json.dumps(body).encode())
    assert answer.status_code == 422
    [problem] = _problems(answer)
    assert problem["path"] == "/data"
    assert "nested too deeply" in problem["reason"]
    assert len(problem["value"]) <= 201  # the 100,000 brackets are not echoed back


@pytest.mark.parametrize("path", ["/v1/calc", "/v1/repayments"])
async def test_the_pydantic_endpoints_refuse_deep_json_with_422_not_500(ingress, path):
    answer = await ingress.refused(path, b"[" * 100_000)
    assert answer.status_code == 422
    [problem] = _problems(answer)
    assert "recursion limit" in problem["reason"]
    assert problem["value"] == "<100000 bytes>"


async def test_a_one_megabyte_integer_literal_is_refused_by_its_length(ingress):
    text = json.dumps(_kingdee()).replace(
        '"FAFTERTOTALTAXFOR": ', '"FAFTERTOTALTAXFOR": ' + "9" * 1_000_000 + ", \"x\": ", 1
    )
    answer = await ingress.refused(KINGDEE_PATH, text.encode())
    assert answer.status_code == 422
    assert _problems(answer) == [
        {"path": "", "value": None, "reason": "not valid JSON: a number has more than 4300 digits"}
    ]


@pytest.mark.parametrize(
    ("literal", "reason"),
    [
        ("1." + "1" * 1_000_000, "has more than 10 decimal places"),
        ("1e999999", "is out of range (magnitude must be below 10^15)"),
        ("-1E+999999999", "is out of range (magnitude must be below 10^15)"),
        ("1e-999999", "has more than 10 decimal places"),
    ],
)
async def test_huge_or_tiny_number_literals_are_refused_at_their_field(ingress, literal, reason):
    body = _kingdee()
    body["data"]["Model"]["FAFTERTOTALTAXFOR"] = "@"
    text = json.dumps(body).replace('"@"', literal, 1)
    answer = await ingress.refused(KINGDEE_PATH, text.encode())
    assert answer.status_code == 422
    problem = next(p for p in _problems(answer) if p["path"] == "/data/Model/FAFTERTOTALTAXFOR")
    assert problem["reason"] == reason
    assert len(problem["value"]) <= 201


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
async def test_nan_and_infinity_literals_are_refused(ingress, literal):
    body = _kingdee()
    body["data"]["Model"]["FAFTERTOTALTAXFOR"] = "@"
    text = json.dumps(body).replace('"@"', literal, 1)
    answer = await ingress.refused(KINGDEE_PATH, text.encode())
    assert answer.status_code == 422
    assert _problems(answer)[0]["reason"] == f"{literal} is not a JSON number"


async def test_a_one_megabyte_string_is_refused_at_its_field_and_not_echoed_whole(ingress):
    body = _kingdee()
    body["data"]["Model"]["FBillNo"] = "X" * 1_000_000
    answer = await ingress.refused(KINGDEE_PATH, json.dumps(body).encode())
    assert answer.status_code == 422
    problem = next(p for p in _problems(answer) if p["path"] == "/data/Model/FBillNo")
    assert "longer than" in problem["reason"]
    assert len(answer.content) < 10_000


# -- XML bombs --------------------------------------------------------------------------------

PAIN002 = (FIXTURES / "pain002_acsc.xml").read_bytes()
LAUGHS = "".join(
    f'<!ENTITY lol{i} "{(f"&lol{i - 1};" if i > 1 else "lol") * 10}">' for i in range(1, 10)
)
_BODY = PAIN002.split(b"?>", 1)[1].decode()
DTD_REFUSED = "DOCTYPE and entity declarations are refused (XXE / entity expansion)"


def _with_doctype(subset: str, *, entity: str = "", encoding: str = "utf-8") -> bytes:
    """The pain.002 fixture with a DOCTYPE, its root's first text replaced by `entity`."""
    body = _BODY.replace("CMBSTS20261120000017", entity or "CMBSTS20261120000017", 1)
    declaration = f'<?xml version="1.0" encoding="{encoding.upper()}"?>'
    text = f"{declaration}<!DOCTYPE Document {subset}>{body}"
    return text.encode(encoding)


BOMBS = {
    "billion laughs": _with_doctype(f"[{LAUGHS}]", entity="&lol9;"),
    "xxe": _with_doctype('[<!ENTITY x SYSTEM "file:///etc/passwd">]', entity="&x;"),
    "parameter entity": _with_doctype(
        '[<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]', entity="x"
    ),
    "quadratic blowup": _with_doctype(
        f'[<!ENTITY a "{"a" * 50_000}">]', entity="&a;" * 20_000
    ),
    "billion laughs in utf-16": _with_doctype(f"[{LAUGHS}]", entity="&lol9;", encoding="utf-16"),
    "xxe in utf-32": _with_doctype(
        '[<!ENTITY x SYSTEM "file:///etc/passwd">]', entity="&x;", encoding="utf-32"
    ),
}


@pytest.mark.parametrize("path", ["/v1/ingest/pain002", "/v1/ingest/bank", "/v1/bank/pain002"])
@pytest.mark.parametrize("bomb", sorted(BOMBS))
async def test_entity_bombs_and_xxe_are_refused_before_parsing(ingress, path, bomb):
    started = time.perf_counter()
    answer = await ingress.refused(path, BOMBS[bomb], XML_TYPE)
    assert time.perf_counter() - started < 1.0
    assert answer.status_code == 422
    [problem] = _problems(answer)
    assert problem["reason"].startswith(DTD_REFUSED)
    assert "root:" not in answer.text  # nothing of /etc/passwd


async def test_an_external_dtd_is_never_fetched(ingress):
    fetched: list[bytes] = []

    async def record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        fetched.append(await reader.read(1024))
        writer.close()

    server = await asyncio.start_server(record, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        for path in ("/v1/ingest/pain002", "/v1/bank/pain002", "/v1/bank/camt054"):
            bomb = _with_doctype(f'SYSTEM "http://127.0.0.1:{port}/evil.dtd"')
            answer = await ingress.refused(path, bomb, XML_TYPE)
            assert answer.status_code == 422
            assert _problems(answer)[0]["reason"] == DTD_REFUSED
        await asyncio.sleep(0.1)
    finally:
        server.close()
        await server.wait_closed()
    assert fetched == []


@pytest.mark.parametrize("path", ["/v1/ingest/pain002", "/v1/bank/pain002", "/v1/bank/camt054"])
async def test_xml_nested_100000_deep_is_refused_quickly_naming_the_depth(ingress, path):
    body = b"<Document>" + b"<a>" * 100_000 + b"</a>" * 100_000 + b"</Document>"
    started = time.perf_counter()
    answer = await ingress.refused(path, body, XML_TYPE)
    assert time.perf_counter() - started < 1.0
    assert answer.status_code == 422
    [problem] = _problems(answer)
    assert problem["reason"] == "refused: elements are nested more than 256 levels deep"


@pytest.mark.parametrize("path", ["/v1/ingest/pain002", "/v1/bank/pain002"])
async def test_a_hidden_character_in_a_bank_report_is_refused_at_its_element(ingress, path):
    spoiled = PAIN002.replace(b"<MsgId>CMBSTS", "<MsgId>\u202eCMBSTS".encode(), 1)
    assert spoiled != PAIN002
    answer = await ingress.refused(path, spoiled, XML_TYPE)
    assert answer.status_code == 422
    [problem] = _problems(answer)
    assert problem["path"] == "/Document/CstmrPmtStsRpt/GrpHdr/MsgId"
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in problem["reason"]
    assert problem["value"].startswith("\\u202e")  # shown escaped, not acted on


async def test_a_number_whose_fixed_point_text_is_a_gigabyte_is_refused_quickly(ingress):
    """`f"{Decimal('1E-999999999'):f}"` is a billion characters: never written out."""
    answer_json = json.loads((FIXTURES / "vat" / "verification_consistent.json").read_bytes())
    answer_json["data"]["totalAmount"] = "@"
    text = json.dumps(answer_json).replace('"@"', "1E-999999999", 1)
    started = time.perf_counter()
    answer = await ingress.refused("/v1/ingest/vat-verification-answer", text.encode())
    assert time.perf_counter() - started < 1.0
    assert answer.status_code == 422
    problem = next(p for p in _problems(answer) if p["path"].endswith("/totalAmount"))
    assert problem["value"] == "1E-999999999"


# -- unicode tricks in identifiers ------------------------------------------------------------

def _swap(table: dict[str, str]) -> Callable[[str], str]:
    """A trick replacing the first character of `table` found in the identifier."""

    def spoil(code: str) -> str:
        for index, char in enumerate(code):
            if char in table:
                return code[:index] + table[char] + code[index + 1 :]
        raise AssertionError(f"nothing in {code!r} has a look-alike in the table")

    return spoil


def _insert(char: str, at: int) -> Callable[[str], str]:
    return lambda code: code[:at] + char + code[at:]


TRICKS: dict[str, tuple[Callable[[str], str], str]] = {
    "zero-width space": (_insert("\u200b", 9), "U+200B ZERO WIDTH SPACE"),
    "zero-width joiner": (_insert("\u200d", 9), "U+200D ZERO WIDTH JOINER"),
    "soft hyphen": (_insert("\u00ad", 9), "U+00AD SOFT HYPHEN"),
    "right-to-left override": (_insert("\u202e", 0), "U+202E RIGHT-TO-LEFT OVERRIDE"),
    "NUL byte": (_insert("\x00", 18), "U+0000 NULL"),
    "lone surrogate": (_insert("\ud800", 18), "lone surrogate U+D800"),
    "information separator": (_insert("\x1f", 18), "U+001F"),
    "cyrillic look-alike": (
        _swap({"A": "\u0410", "C": "\u0421", "E": "\u0415", "K": "\u041a", "M": "\u041c",
               "0": "\u041e", "3": "\u0417"}),
        "CYRILLIC CAPITAL LETTER",
    ),
    "greek look-alike": (
        _swap({"A": "\u0391", "E": "\u0395", "K": "\u039a", "M": "\u039c", "0": "\u039f"}),
        "GREEK CAPITAL LETTER",
    ),
    "circled digit": (_swap({str(d): chr(0x245F + d) for d in range(1, 10)}), "CIRCLED DIGIT"),
    "mathematical digit": (
        _swap({str(d): chr(0x1D7CE + d) for d in range(10)}), "MATHEMATICAL BOLD DIGIT"
    ),
    "arabic-indic digit": (
        _swap({str(d): chr(0x0660 + d) for d in range(10)}), "ARABIC-INDIC DIGIT"
    ),
}
"""Tricks on an identifier and the words its refusal must name."""


@pytest.mark.parametrize("trick", sorted(TRICKS))
async def test_a_tricked_kingdee_buyer_uscc_is_refused_naming_the_field_and_character(
    ingress, trick
):
    body = _kingdee()
    model = body["data"]["Model"]
    spoil, named = TRICKS[trick]
    model["FTAXREGISTERCODE"] = spoil(model["FTAXREGISTERCODE"])
    answer = await ingress.refused(KINGDEE_PATH, _encoded(body))
    assert answer.status_code == 422
    problem = next(p for p in _problems(answer) if p["path"] == "/data/Model/FTAXREGISTERCODE")
    assert named in problem["reason"]
    assert not any(c in answer.text for c in "\u200b\u200d\u202e\x00\x1f\u00ad")  # escaped


@pytest.mark.parametrize(
    "trick", ["cyrillic look-alike", "greek look-alike", "zero-width space", "NUL byte"]
)
async def test_a_tricked_yonyou_seller_uscc_is_refused_naming_the_field(ingress, trick):
    body = _yonyou()
    spoil, named = TRICKS[trick]
    body["org"]["taxNo"] = spoil(body["org"]["taxNo"])
    answer = await ingress.refused(YONYOU_PATH, _encoded(body))
    assert answer.status_code == 422
    problem = next(p for p in _problems(answer) if p["path"] == "/org/taxNo")
    assert named in problem["reason"]


@pytest.mark.parametrize(
    "trick",
    ["zero-width space", "right-to-left override", "NUL byte", "lone surrogate",
     "circled digit", "mathematical digit", "arabic-indic digit", "cyrillic look-alike"],
)
async def test_a_tricked_invoice_number_is_refused_naming_the_field_and_character(
    ingress, trick
):
    body = _kingdee()
    model = body["data"]["Model"]
    spoil, named = TRICKS[trick]
    model["FIVNUMBER"] = spoil(model["FIVNUMBER"])
    answer = await ingress.refused(KINGDEE_PATH, _encoded(body))
    assert answer.status_code == 422
    problem = next(p for p in _problems(answer) if p["path"] == "/data/Model/FIVNUMBER")
    assert named in problem["reason"]


@pytest.mark.parametrize(
    ("spoiled", "named"),
    [
        ("苏州\u202e司公限有", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("苏州\u200b金桥光电有限公司", "U+200B ZERO WIDTH SPACE"),
        ("苏州金桥\u2066光电\u2069有限公司", "U+2066 LEFT-TO-RIGHT ISOLATE"),
        ("苏州金桥光电有限公司\x00", "U+0000 NULL"),
        ("苏州金桥光电\n有限公司", "U+000A <control>"),
        ("苏州金桥光电\u2028有限公司", "U+2028 LINE SEPARATOR"),
        ("\ufeff苏州金桥光电有限公司", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
    ],
)
async def test_a_company_name_with_a_hidden_character_is_refused_naming_it(
    ingress, spoiled, named
):
    body = _kingdee()
    body["data"]["Model"]["FINVOICETITLE"] = spoiled
    answer = await ingress.refused(KINGDEE_PATH, _encoded(body))
    assert answer.status_code == 422
    problem = next(p for p in _problems(answer) if p["path"] == "/data/Model/FINVOICETITLE")
    assert named in problem["reason"]


async def test_a_source_document_number_with_a_zero_width_space_is_refused(ingress):
    """Else the same bill, pushed again with an invisible character, would get a second id."""
    body = _kingdee()
    body["data"]["Model"]["FBillNo"] += "\u200b"
    answer = await ingress.refused(KINGDEE_PATH, _encoded(body))
    assert answer.status_code == 422
    problem = next(p for p in _problems(answer) if p["path"] == "/data/Model/FBillNo")
    assert "U+200B ZERO WIDTH SPACE" in problem["reason"]


async def test_full_width_digits_and_blanks_in_identifiers_fold_to_the_same_ascii_identifier(
    ingress,
):
    """The one fold identifiers get (formats-inbound §0.6): 全角 forms are the ASCII
    characters themselves, so the request stores the plain ASCII USCC and invoice number; a
    printable Chinese name with full-width brackets and an ideographic space is kept as is."""
    body = _kingdee(1)
    model = body["data"]["Model"]
    buyer, number = model["FTAXREGISTERCODE"], model["FIVNUMBER"]
    full_width = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})
    model["FTAXREGISTERCODE"] = " " + buyer.lower().translate(full_width) + "\u3000"
    model["FIVNUMBER"] = number[:10].translate(full_width) + " " + number[10:]
    model["FINVOICETITLE"] = "苏州金桥（光电）\u3000有限公司"
    answer = await ingress.client.post(KINGDEE_PATH, json=body)
    assert answer.status_code == 202, answer.text
    async with ingress.hub.units() as uow:
        row = await uow.session.get(RequestRow, answer.json()["request_id"])
    assert row is not None
    assert (row.buyer_uscc, row.invoice_key) == (buyer, number)
    assert row.source_document_id == KINGDEE_CASES[1].document_no
    assert json.loads(row.document)["invoice"]["buyer"]["name"] == "苏州金桥（光电）\u3000有限公司"


@pytest.mark.parametrize(
    "requested", ["1e999999", "１２３", "\u0661\u0662\u0663", "12\u200b3", "NaN", "-0", "0.001"]
)
async def test_a_tricked_requested_amount_is_refused_naming_the_query_parameter(
    ingress, requested
):
    before = await ingress.stored()
    answer = await ingress.client.post(
        KINGDEE_PATH,
        content=render(KINGDEE_CASES[0]),
        params={"requested_amount": requested},
        headers=JSON_TYPE,
    )
    assert answer.status_code == 422, answer.text
    assert [p["path"] for p in _problems(answer)] == ["?requested_amount"]
    assert await ingress.stored() == before
    await ingress.still_accepts_a_push()


# -- encodings and media types ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"formid": "IV_SALESIC", "data": "\xff\xfe\xfa"}', "neither UTF-8 nor GB18030"),
        (b'{"formid": "\x80"}', "neither UTF-8 nor GB18030"),
        (codecs.BOM_UTF8 + b'{"formid": "\xc3\x28\x80"}', "invalid utf-8 after its byte-order"),
        (codecs.BOM_UTF16_LE + b"{\x00\x00\xd8", "invalid utf-16-le after its byte-order mark"),
    ],
)
async def test_malformed_encodings_are_refused_with_422_naming_the_byte(ingress, body, reason):
    answer = await ingress.refused(KINGDEE_PATH, body, {})
    assert answer.status_code == 422
    assert reason in _problems(answer)[0]["reason"]


async def test_json_declared_utf8_that_is_not_utf8_is_refused_with_422(ingress):
    body = _kingdee()
    text = json.dumps(body, ensure_ascii=False)
    answer = await ingress.refused(
        KINGDEE_PATH, text.encode("gbk"), {"content-type": "application/json; charset=utf-8"}
    )
    assert answer.status_code == 422
    [problem] = _problems(answer)
    assert problem["reason"].startswith("declared charset=utf-8, but the body is not UTF-8")


async def test_a_utf8_byte_order_mark_is_read_as_the_same_document(ingress):
    """A BOM is allowed (Windows ERPs write one; formats-inbound §0.5 says strip it): the push
    is the same document as without it, so the second one is a duplicate."""
    raw = next(ingress.fresh)
    first = await ingress.client.post(KINGDEE_PATH, content=codecs.BOM_UTF8 + raw)
    again = await ingress.client.post(KINGDEE_PATH, content=raw, headers=JSON_TYPE)
    assert first.status_code == again.status_code == 202
    assert (first.json()["status"], again.json()["status"]) == ("accepted", "duplicate")
    assert first.json()["request_id"] == again.json()["request_id"]


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        (KINGDEE_PATH, "application/x-www-form-urlencoded"),
        (KINGDEE_PATH, "multipart/form-data; boundary=x"),
        (KINGDEE_PATH, "text/html"),
        (KINGDEE_PATH, "text/plain"),
        (KINGDEE_PATH, "application/xml"),
        ("/v1/ingest/kingdee-sales-invoice", "application/octet-stream"),
        ("/v1/calc", "text/csv"),
        ("/v1/repayments", "application/xml"),
        ("/v1/bank/pain002", "application/json"),
        ("/v1/bank/camt054", "text/plain"),
        ("/v1/ecny/notify", "application/x-www-form-urlencoded"),
    ],
)
async def test_a_wrong_content_type_is_refused_with_415_naming_what_is_accepted(
    ingress, path, content_type
):
    answer = await ingress.refused(path, render(KINGDEE_CASES[0]), {"content-type": content_type})
    assert answer.status_code == 415
    body = answer.json()
    assert body["error"] == "unsupported media type"
    assert body["content_type"] == content_type.partition(";")[0]
    assert body["accepted"]


@pytest.mark.parametrize("content_type", ["application/json", "application/vnd.kd+json", ""])
async def test_json_media_types_and_none_at_all_are_read(ingress, content_type):
    headers = {"content-type": content_type} if content_type else {}
    answer = await ingress.client.post(KINGDEE_PATH, content=next(ingress.fresh), headers=headers)
    assert answer.status_code == 202, answer.text
