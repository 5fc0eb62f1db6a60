"""U8/NC EAI ufinterface XML -> InvoicePush: encodings, prefixes, safety, listed problems."""

from __future__ import annotations

import pytest

from canonical import MappingError
from mappings.ufinterface import ufinterface_invoice_to_canonical

GBK = "yonyou/ufinterface_saleinvoice_gbk.xml"
REFUSED = "DOCTYPE and entity declarations are refused (XXE / entity expansion)"


def _problems(raw: bytes, received_at) -> list[tuple[str, str]]:
    with pytest.raises(MappingError) as caught:
        ufinterface_invoice_to_canonical(raw, received_at=received_at)
    assert caught.value.source == "ufinterface"
    return [(p.path, p.reason) for p in caught.value.problems]


def _text(fixture_bytes) -> str:
    return fixture_bytes(GBK).decode("gbk")


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: text.encode("gbk"),
        lambda text: text.replace('encoding="GBK"', 'encoding="GB2312"').encode("gb18030"),
        lambda text: text.encode("gbk").replace(b'encoding="GBK"', b'encoding="UTF-8"'),
        lambda text: text.encode("utf-8"),
        lambda text: b"\xef\xbb\xbf" + text.replace('encoding="GBK"', 'encoding="UTF-8"').encode(),
        lambda text: text.split("?>", 1)[1].encode("gbk"),
    ],
    ids=["gbk", "gb2312", "gbk-declared-utf8", "utf8-declared-gbk", "utf8-bom", "undeclared"],
)
def test_every_encoding_variant_reads_the_same_invoice(fixture_bytes, received_at, encode):
    expected = ufinterface_invoice_to_canonical(fixture_bytes(GBK), received_at=received_at)
    invoice = ufinterface_invoice_to_canonical(
        encode(_text(fixture_bytes)), received_at=received_at
    ).invoice

    assert invoice.model_dump(exclude={"provenance"}) == expected.invoice.model_dump(
        exclude={"provenance"}
    )
    assert invoice.buyer.name == "北京示例精密机械有限公司"


def test_bytes_that_decode_in_no_encoding_are_refused(received_at):
    raw = b'<?xml version="1.0" encoding="GBK"?><ufinterface>\x81\x30\x81</ufinterface>'

    assert _problems(raw, received_at) == [
        ("", "neither gbk as declared nor UTF-8: the bytes do not decode")
    ]


def test_every_problem_is_listed_with_an_xpath(fixture_bytes, received_at):
    text = (
        _text(fixture_bytes)
        .replace("<originaltax>2,886.00</originaltax>", "<originaltax>2,886.50</originaltax>")
        .replace("<date>2026-11-19 00:00:00</date>", "<date>19/11/2026</date>")
        .replace("<regcode>91440300MA5FXXXX1Y</regcode>", "<regcode>91440300MA5FXXXX1X</regcode>")
    )

    assert _problems(text.encode("gbk"), received_at) == [
        (
            "/ufinterface/saleinvoice/body/entry[1]/originaltax",
            "tax 2886.50 is not amount 22200.00 x rate 0.13 = 2886.00 (tolerance 0.01)",
        ),
        (
            "/ufinterface/saleinvoice/header/date",
            "is not a date (expected YYYY-MM-DD, optionally with a time)",
        ),
        (
            "/ufinterface/customer/regcode",
            "invalid 统一社会信用代码: check digit is 'X', expected 'Y'",
        ),
    ]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            ('proc="add"', 'proc="delete"'),
            ("/ufinterface/@proc", "only add and edit carry an invoice"),
        ),
        (
            ('roottag="saleinvoice"', 'roottag="storein"'),
            ("/ufinterface/@roottag", "must be saleinvoice"),
        ),
        (("<body>", "<bodies>"), ("/ufinterface/saleinvoice/body", "is required")),
    ],
)
def test_the_envelope_is_checked(fixture_bytes, received_at, change, problem):
    text = (
        _text(fixture_bytes)
        .replace(*change)
        .replace("</body>", "</bodies>" if change[1] == "<bodies>" else "</body>")
    )

    assert _problems(text.encode("gbk"), received_at) == [problem]


def test_two_invoices_in_one_message_are_refused(received_at):
    raw = (
        b'<?xml version="1.0" encoding="GBK"?>\n<ufinterface roottag="saleinvoice">'
        b"<saleinvoice/><saleinvoice/></ufinterface>"
    )

    assert _problems(raw, received_at) == [
        ("/ufinterface/saleinvoice", "must appear exactly once, found 2")
    ]


@pytest.mark.parametrize("name", ["billion_laughs.xml", "xxe.xml"])
def test_entity_attacks_are_refused(fixture_bytes, received_at, name):
    assert _problems(fixture_bytes(name), received_at) == [("", REFUSED)]


def test_a_doctype_hidden_behind_a_gbk_declaration_is_refused(received_at):
    raw = (
        '<?xml version="1.0" encoding="GBK"?><!DOCTYPE u [<!ENTITY a "甲">]>'
        "<ufinterface>&a;</ufinterface>"
    ).encode("gbk")

    assert _problems(raw, received_at) == [("", REFUSED)]
