"""Customs declarations (DecMessage, 报关单) -> CustomsDeclaration, from hand-written messages."""

from __future__ import annotations

import base64
import json
from datetime import date, datetime
from decimal import Decimal

import pytest
from pydantic_core import to_jsonable_python

from canonical import CustomsDeclaration, MappingError
from mappings.customs_dec import INBOUND, decmessage_to_canonical, recognise_decmessage
from tests.mappings.conftest import FIXTURES

CUSTOMS = FIXTURES / "customs"
GOLDEN = [
    "decmessage_export.xml",
    "decmessage_prefixed_gbk.xml",
    "decmessage_import_dxp.xml",
    "decmessage_uncleared_gb18030.xml",
]
EXPORT = (CUSTOMS / "decmessage_export.xml").read_text(encoding="utf-8")
HEAD = "/DecMessage/DecHead"
LINE = "/DecMessage/DecLists/DecList"


def _map(raw: bytes | str, received_at: datetime, **options: Decimal):
    data = raw.encode() if isinstance(raw, str) else raw
    return decmessage_to_canonical(data, received_at=received_at, **options)


def _problems(raw: bytes | str, received_at: datetime, **options: Decimal):
    with pytest.raises(MappingError) as caught:
        _map(raw, received_at, **options)
    assert caught.value.source == "customs-decmessage"
    return [(p.path, p.reason) for p in caught.value.problems]


def _edit(*pairs: tuple[str, str], text: str = EXPORT) -> str:
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


class TestGoldenDeclarations:
    @pytest.mark.parametrize("name", GOLDEN)
    def test_each_fixture_maps_to_its_reviewed_canonical_json(self, name, received_at):
        result = _map((CUSTOMS / name).read_bytes(), received_at)
        expected = json.loads((CUSTOMS / name).with_suffix(".expected.json").read_text("utf-8"))
        assert to_jsonable_python(result) == expected

    def test_the_export_is_valued_as_the_sum_of_decl_totals_in_trade_currency(self, received_at):
        declaration = _map(EXPORT, received_at)

        assert declaration.entry_id == "310420250001234567"
        assert declaration.cleared
        assert (declaration.ie_flag, declaration.ie_date) == ("E", date(2025, 9, 18))
        assert declaration.declare_date == date(2025, 9, 16)  # SignDate yyyyMMddHHmmss00
        assert declaration.total.amount == Decimal("31315.00")
        assert declaration.total.currency == "USD"
        assert [line.amount for line in declaration.lines] == [
            Decimal("22200.00"),
            Decimal("4115.00"),
            Decimal("5000.00"),
        ]
        assert declaration.trade_uscc == "91310115MA1K4B2X34"
        assert declaration.contract_number == "HT-2025-0917"
        assert declaration.overseas_party == "Hansa Elektronik GmbH"

    def test_provenance_carries_the_entry_id_sm3_fingerprint_and_receipt_time(self, received_at):
        provenance = _map(EXPORT, received_at).provenance

        assert provenance.source_system == "customs-decmessage"
        assert provenance.source_document_id == "310420250001234567"
        assert len(provenance.fingerprint) == 64
        assert provenance.received_at == received_at

    def test_prefixed_default_and_unnamespaced_messages_read_the_same(self, received_at):
        plain = EXPORT.replace(' xmlns="http://www.chinaport.gov.cn/dec"', "")
        prefixed = (
            EXPORT.replace("<", "<dec:")
            .replace("<dec:/", "</dec:")
            .replace("<dec:?xml", "<?xml")
            .replace('xmlns="', 'xmlns:dec="')
        )
        expected = _map(EXPORT, received_at).model_dump(exclude={"provenance"})

        for variant in (plain, prefixed):
            assert _map(variant, received_at).model_dump(exclude={"provenance"}) == expected

    def test_a_utf8_declared_file_saved_as_gb18030_is_read_by_falling_back(self, received_at):
        declaration = _map(EXPORT.encode("gb18030"), received_at)

        assert declaration.trade_name == "上海锦程电子科技有限公司"

    def test_an_import_declaration_reads_the_overseas_consignor_inside_a_dxp_envelope(
        self, received_at
    ):
        declaration = _map((CUSTOMS / "decmessage_import_dxp.xml").read_bytes(), received_at)

        assert (declaration.ie_flag, declaration.entry_id) == ("I", "223320231000000762")
        assert declaration.overseas_party == "日本精工机械株式会社"
        assert declaration.total.currency == "CNY"  # legacy code 142

    def test_without_an_entry_id_the_seq_no_is_the_key_and_the_entry_is_not_cleared(
        self, received_at
    ):
        raw = (CUSTOMS / "decmessage_uncleared_gb18030.xml").read_bytes()
        declaration = _map(raw, received_at)

        assert (declaration.entry_id, declaration.cleared) == ("000020251102556677", False)
        assert declaration.declare_date == date(2025, 11, 2)  # PDate as 2025年11月02日

    @pytest.mark.parametrize(
        ("written", "expected"),
        [
            ("20250916", date(2025, 9, 16)),
            ("20250916103025", date(2025, 9, 16)),
            ("2025-09-16", date(2025, 9, 16)),
            ("2025/9/16 10:30", date(2025, 9, 16)),
            ("２０２５０９１６１０３０２５００", date(2025, 9, 16)),
        ],
    )
    def test_customs_date_forms_are_accepted(self, received_at, written, expected):
        raw = _edit(("2025091610302500", written))
        assert _map(raw, received_at).declare_date == expected

    @pytest.mark.parametrize(
        ("code", "iso"), [("502", "USD"), ("142", "CNY"), ("usd", "USD"), (" EUR ", "EUR")]
    )
    def test_customs_currency_codes_become_iso_codes(self, received_at, code, iso):
        raw = EXPORT.replace("<TradeCurr>USD</TradeCurr>", f"<TradeCurr>{code}</TradeCurr>")
        assert _map(raw, received_at).total.currency == iso

    def test_a_decl_price_rounded_to_four_places_is_accepted(self, received_at):
        # 3333 x 1.2346 = 4114.9218: off by 0.078, within 3333 x 0.00005 of rounding
        line = _map(EXPORT, received_at).lines[1]
        assert (line.quantity, line.unit_price, line.amount) == (
            Decimal("3333"),
            Decimal("1.2346"),
            Decimal("4115.00"),
        )

    def test_a_configured_tolerance_accepts_a_wider_line_gap(self, received_at):
        raw = _edit(("<DeclTotal>5000.00</DeclTotal>", "<DeclTotal>5000.40</DeclTotal>"))
        assert _problems(raw, received_at) == [
            (
                f"{LINE}[3]/DeclTotal",
                "GQty x DeclPrice = 5000.00 does not match DeclTotal "
                "5000.40 (difference -0.40, allowed 0.04000)",
            )
        ]
        declaration = _map(raw, received_at, tolerance=Decimal("0.50"))
        assert declaration.total.amount == Decimal("31315.40")

    def test_goods_limits_nested_in_a_line_and_unused_repeats_are_left_alone(self, received_at):
        raw = _edit(
            (
                "<DutyMode>1</DutyMode>",
                "<DutyMode>1</DutyMode><DecGoodsLimits>"
                "<DecGoodsLimit><GoodsNo>1</GoodsNo><LicTypeCode>325</LicTypeCode>"
                "</DecGoodsLimit></DecGoodsLimits>",
            ),
            ("<MarkNo>N/M</MarkNo>", "<MarkNo>N/M</MarkNo><MarkNo>A1</MarkNo>"),
        )
        assert _map(raw, received_at).total.amount == Decimal("31315.00")

    def test_the_catalogue_entry_reads_and_recognises_the_format(self, received_at):
        (entry,) = INBOUND
        assert (entry.name, entry.family) == ("customs-decmessage", "customs")
        declaration = entry.read(EXPORT.encode(), received_at)
        assert isinstance(declaration, CustomsDeclaration)
        assert declaration.entry_id == "310420250001234567"
        assert entry.recognise(EXPORT.encode())


class TestBadDeclarations:
    def test_every_problem_is_reported_at_once_with_its_path(self, received_at):
        raw = _edit(
            (
                "<TradeCoScc>91310115MA1K4B2X34</TradeCoScc>",
                "<TradeCoScc>91310115MA1K4B2X35</TradeCoScc>",
            ),
            ("<TradeName>上海锦程电子科技有限公司</TradeName>", "<TradeName> </TradeName>"),
            ("<EntryId>310420250001234567</EntryId>", "<EntryId>310420251001234567</EntryId>"),
            ("<IEDate>20250918</IEDate>", "<IEDate>20250931</IEDate>"),
            ("<TradeCurr>USD</TradeCurr>", "<TradeCurr>RMB</TradeCurr>"),
            ("<GNo>2</GNo>", "<GNo>1</GNo>"),
            ("<DeclTotal>4115.00</DeclTotal>", "<DeclTotal>4,11５.0O</DeclTotal>"),
            (
                "<TradeCurr>USD</TradeCurr>\n      <OriginCountry>CHN</OriginCountry>\n"
                "      <DestinationCountry>DEU</DestinationCountry>\n      <DistrictCode>31099"
                "</DistrictCode>\n      <DutyMode>1</DutyMode>\n    </DecList>\n  </DecLists>",
                "<TradeCurr>EUR</TradeCurr></DecList></DecLists>",
            ),
            ("<DeclTotal>5000.00</DeclTotal>", "<DeclTotal>6000.00</DeclTotal>"),
        )
        assert _problems(raw, received_at) == [
            (f"{HEAD}/EntryId", "its 9th digit 1 (1 import, 0 export) contradicts IEFlag E"),
            (f"{HEAD}/TradeCoScc", "invalid 统一社会信用代码: check digit is '5', expected '4'"),
            (f"{HEAD}/TradeName", "must not be empty"),
            (f"{HEAD}/IEDate", "is not a real date (day is out of range for month)"),
            (
                f"{LINE}[1]/TradeCurr",
                "unknown customs currency code: expected an ISO code such "
                "as USD or one of the legacy codes 142 (CNY), 502 (USD)",
            ),
            (f"{LINE}[2]/GNo", f"repeats the line number of {LINE}[1]"),
            (f"{LINE}[2]/DeclTotal", "is not a decimal number"),
            (
                f"{LINE}[3]/TradeCurr",
                f"is EUR but {LINE}[2]/TradeCurr is USD: a declaration is valued in one currency",
            ),
            (
                f"{LINE}[3]/DeclTotal",
                "GQty x DeclPrice = 5000.00 does not match DeclTotal "
                "6000.00 (difference -1000.00, allowed 0.04000)",
            ),
        ]

    def test_missing_sections_and_keys_are_each_reported(self, received_at):
        raw = b"""<DecMessage xmlns="http://www.chinaport.gov.cn/dec"><DecHead>
            <EntryId/><IEFlag>X</IEFlag><TradeCode>31209</TradeCode><TradeMode>110</TradeMode>
            </DecHead><DecLists/></DecMessage>"""
        assert _problems(raw, received_at) == [
            (f"{HEAD}/IEFlag", "must be I (import) or E (export)"),
            (f"{HEAD}/EntryId", "is required (nor is there a SeqNo): the declaration has no key"),
            (f"{HEAD}/TradeCoScc", "is required but missing"),
            (f"{HEAD}/TradeName", "is required but missing"),
            (f"{HEAD}/TradeCode", "must be a 10-character customs code"),
            (f"{HEAD}/TradeMode", "must be 4 digits"),
            (
                "/DecMessage/DecSign/SignDate",
                "is required (nor is there a DecHead/PDate): the declaration has no date",
            ),
            ("/DecMessage/DecLists", "must hold at least one DecList (goods line)"),
        ]

    def test_line_values_must_be_positive_and_numbers(self, received_at):
        raw = _edit(
            ("<GQty>1200</GQty>", "<GQty>0</GQty>"),
            ("<DeclPrice>18.5000</DeclPrice>", "<DeclPrice>-1</DeclPrice>"),
            ("<DeclTotal>22200.00</DeclTotal>", "<DeclTotal>1e999</DeclTotal>"),
            ("<CodeTS>8517629900</CodeTS>", "<CodeTS>85176</CodeTS>"),
        )
        assert _problems(raw, received_at) == [
            (f"{LINE}[1]/GQty", "must be positive"),
            (f"{LINE}[1]/DeclPrice", "must not be negative"),
            (f"{LINE}[1]/DeclTotal", "is not a decimal number"),
            (f"{LINE}[1]/CodeTS", "must be an 8- or 10-digit HS code"),
        ]

    def test_a_field_given_twice_or_with_children_is_refused(self, received_at):
        raw = _edit(
            (
                "<ContrNo>HT-2025-0917</ContrNo>",
                "<ContrNo>HT-2025-0917</ContrNo><ContrNo>HT-OTHER</ContrNo>",
            ),
            (
                "<TradeName>上海锦程电子科技有限公司</TradeName>",
                "<TradeName><b>上海锦程</b></TradeName>",
            ),
        )
        assert _problems(raw, received_at) == [
            (f"{HEAD}/TradeName", "must be a value, not nested elements"),
            (f"{HEAD}/ContrNo", "appears more than once"),
        ]

    def test_another_root_or_namespace_is_not_a_declaration(self, received_at):
        assert _problems(
            b"<DecImportResponse xmlns='http://www.chinaport.gov.cn/dec'/>", received_at
        ) == [("/DecImportResponse", "not a customs declaration: expected a DecMessage root")]
        wrong = EXPORT.replace("http://www.chinaport.gov.cn/dec", "urn:example:dec")
        assert _problems(wrong, received_at) == [
            ("/DecMessage", "namespace 'urn:example:dec' is not 'http://www.chinaport.gov.cn/dec'")
        ]

    def test_a_broken_dxp_envelope_is_reported_at_its_data(self, received_at):
        raw = b"<DxpMsg xmlns='http://www.chinaport.gov.cn/dxp'><Data>%%%</Data></DxpMsg>"
        (problem,) = _problems(raw, received_at)
        assert problem[0] == "/DxpMsg/Data"
        assert problem[1].startswith("is not Base64")
        inner = base64.b64encode(b"<DecMessage><DecHead/></DecMessage>").decode()
        raw = f"<DxpMsg><Data>{inner}</Data></DxpMsg>".encode()
        assert (
            "/DxpMsg/Data/DecMessage/DecLists",
            "must hold at least one DecList (goods line)",
        ) in _problems(raw, received_at)

    def test_entity_declarations_are_refused(self, received_at, fixture_bytes):
        for name in ("billion_laughs.xml", "xxe.xml"):
            assert _problems(fixture_bytes(name), received_at) == [
                ("", "DOCTYPE and entity declarations are refused (XXE / entity expansion)")
            ]

    def test_a_naive_receipt_time_and_a_bad_tolerance_are_problems(self):
        with pytest.raises(MappingError) as caught:
            decmessage_to_canonical(
                EXPORT.encode(), received_at=datetime(2026, 1, 1), tolerance=Decimal("-1")
            )
        assert [(p.path, p.reason) for p in caught.value.problems] == [
            ("received_at", "must be a timezone-aware datetime"),
            ("tolerance", "must be a finite, non-negative Decimal"),
        ]


class TestRecognise:
    @pytest.mark.parametrize("name", GOLDEN)
    def test_the_fixtures_are_recognised(self, name):
        assert recognise_decmessage((CUSTOMS / name).read_bytes())

    @pytest.mark.parametrize(
        "name",
        [
            "kingdee_iv_salesic.json",
            "yonyou_sale_invoice.json",
            "pain002_acsc.xml",
            "pain002_pdng_no_namespace.xml",
            "customs/ceb303_orders.xml",
            "customs/ceb403_gbk.xml",
            "billion_laughs.xml",
        ],
    )
    def test_other_families_are_not_recognised(self, fixture_bytes, name):
        assert not recognise_decmessage(fixture_bytes(name))

    @pytest.mark.parametrize(
        "raw",
        [
            b"",
            b"\xff\xfe\x00",
            b"<",
            b"<DecMessage xmlns='urn:x'/>",
            b"<DxpMsg><Data>!!!!!!!!</Data></DxpMsg>",
            "str",
        ],
    )
    def test_garbage_is_not_recognised_and_never_raises(self, raw):
        assert not recognise_decmessage(raw)
