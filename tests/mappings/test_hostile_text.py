"""Hostile text and XML below the ingress: what identifiers, names and parsers accept.

Identifiers get one fold (full-width ASCII forms and blanks), names none; every hidden
character is refused by its code point; every lxml parse goes through the hardened parser.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from canonical import Invoice, MappingError, Party, PartyRole, normalise_uscc, uscc_problem
from canonical.text import fold_identifier, hidden_problem
from mappings import kingdee_invoice_to_canonical
from mappings._json import JsonRefused, loads
from mappings._problems import Problems
from mappings._xml import DTD_REFUSED, parse_untrusted
from mappings.formats import UnknownFormat, recognise

USCC = "91330106569821743D"
MAPPINGS = Path(__file__).parents[2] / "mappings"


class TestIdentifiers:
    def test_full_width_forms_and_blanks_fold_to_the_ascii_identifier(self):
        full_width = "".join(chr(ord(c) + 0xFEE0) for c in USCC.lower())
        assert normalise_uscc(f"\u3000{full_width[:9]} {full_width[9:]}\t") == USCC
        assert uscc_problem(normalise_uscc(full_width)) is None

    @pytest.mark.parametrize(
        ("look_alike", "named"),
        [
            ("\u2460", "U+2460 CIRCLED DIGIT ONE"),
            ("\U0001d7cf", "U+1D7CF MATHEMATICAL BOLD DIGIT ONE"),
            ("\u0661", "U+0661 ARABIC-INDIC DIGIT ONE"),
            ("\u00b9", "U+00B9 SUPERSCRIPT ONE"),
        ],
    )
    def test_nfkc_look_alike_digits_are_not_folded_but_named(self, look_alike, named):
        code = normalise_uscc("9" + look_alike + USCC[2:])
        assert look_alike in code
        assert named in (uscc_problem(code) or "")

    @pytest.mark.parametrize(
        ("letter", "named"),
        [("\u0410", "CYRILLIC CAPITAL LETTER A"), ("\u0391", "GREEK CAPITAL LETTER ALPHA")],
    )
    def test_homoglyph_letters_are_refused_by_name(self, letter, named):
        assert named in (uscc_problem(normalise_uscc(USCC[:-1] + letter)) or "")

    def test_a_ligature_is_not_upper_cased_into_two_ascii_letters(self):
        """`"ﬀ".upper()` is "FF": only ASCII letters are upper-cased."""
        assert normalise_uscc("ﬀ") == "ﬀ"

    @pytest.mark.parametrize("hidden", ["\u200b", "\u200d", "\u202e", "\x00", "\x1f", "\u00ad"])
    def test_an_invisible_character_inside_a_uscc_is_named_not_counted(self, hidden):
        problem = uscc_problem(normalise_uscc(USCC[:9] + hidden + USCC[9:])) or ""
        assert f"U+{ord(hidden):04X}" in problem
        assert "18 characters" not in problem

    def test_the_identifier_fold_leaves_everything_but_full_width_and_blanks(self):
        assert fold_identifier("ＡＢ１２ 3\u30004\r\n") == "AB1234"
        assert fold_identifier("①\u200b\u0410") == "①\u200b\u0410"

    @pytest.mark.parametrize("number", ["2633154571784436221\u0663", "2633154571784436221①"])
    def test_an_invoice_number_of_other_digits_cannot_be_built(self, number):
        with pytest.raises(ValidationError) as caught:
            Invoice.model_validate({"number": number})
        assert ("number",) in [e["loc"] for e in caught.value.errors()]


class TestNames:
    @pytest.mark.parametrize(
        "name",
        ["苏州金桥（光电）有限公司", "Acme (Suzhou) Co., Ltd.", "金桥\u3000光电", "É\u0301cole"],
    )
    def test_printable_names_in_any_script_are_kept_as_they_are(self, name):
        party = Party(name=name, uscc=USCC, role=PartyRole.SELLER)
        assert party.name == name

    @pytest.mark.parametrize(
        "hidden", ["\u202e", "\u2066", "\u200b", "\u200c", "\u200d", "\ufeff", "\x00", "\n",
                   "\u2028", "\ud800"]
    )
    def test_a_name_with_a_hidden_character_cannot_exist(self, hidden):
        # a lone surrogate is refused by pydantic itself, before our check sees it
        with pytest.raises(ValidationError, match=f"U\\+{ord(hidden):04X}|unicode string"):
            Party(name=f"苏州{hidden}金桥", uscc=USCC, role=PartyRole.SELLER)

    def test_free_text_keeps_tabs_and_line_breaks_but_not_bidi_controls(self):
        assert hidden_problem("第一行\n第二行\t", "\t\n\r") is None
        assert "U+202E" in (hidden_problem("第一行\u202e", "\t\n\r") or "")


class TestJson:
    @pytest.mark.parametrize(
        ("text", "path", "named"),
        [
            ('{"a": {"b": ["x\\u0000"]}}', "/a/b/0", "U+0000 NULL"),
            ('{"a": "\\ud800"}', "/a", "lone surrogate U+D800"),
            ('{"a": "\\udc00x"}', "/a", "lone surrogate U+DC00"),
            ('{"k\\u0000": 1}', "", "a key contains U+0000 NULL"),
        ],
    )
    def test_escapes_to_nul_or_a_lone_surrogate_are_refused_where_they_are(
        self, text, path, named
    ):
        with pytest.raises(JsonRefused, match=re.escape(named)) as caught:
            loads(text)
        assert caught.value.path == path

    def test_a_surrogate_pair_and_an_escaped_backslash_are_ordinary_text(self):
        assert loads('{"a": "\\ud83d\\ude00", "b": "\\\\u0000"}') == {"a": "😀", "b": "\\u0000"}

    def test_an_integer_literal_too_long_to_convert_is_named_by_its_length(self):
        with pytest.raises(JsonRefused, match="a number has more than 4300 digits"):
            loads("[" + "9" * 5000 + "]")

    def test_a_nul_in_a_kingdee_field_is_refused_at_its_pointer(self, fixture_bytes, received_at):
        clean = fixture_bytes("kingdee_iv_salesic.json")
        raw = clean.replace(b'"FBillNo": "', b'"FBillNo": "\\u0000', 1)
        assert raw != clean
        with pytest.raises(MappingError) as caught:
            kingdee_invoice_to_canonical(raw, received_at=received_at)
        [problem] = caught.value.problems
        assert problem.path.endswith("/FBillNo")
        assert "U+0000 NULL" in problem.reason


LAUGHS = (
    '<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><d>&c;</d>'
)


class TestXml:
    @pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32"])
    def test_a_doctype_is_refused_in_any_encoding_before_parsing(self, encoding):
        declared = encoding.removesuffix("-le").removesuffix("-be").upper()
        raw = f'<?xml version="1.0" encoding="{declared}"?>{LAUGHS}'.encode(encoding)
        with pytest.raises(MappingError) as caught:
            parse_untrusted(Problems(), raw, "test")
        assert [p.reason for p in caught.value.problems] == [DTD_REFUSED]

    def test_a_doctype_hidden_by_a_utf7_declaration_is_refused_after_parsing(self):
        raw = (
            b'<?xml version="1.0" encoding="UTF-7"?>+ADw-!DOCTYPE d +AFs-+ADw-!ENTITY x SYSTEM '
            b"+ACI-file:///etc/passwd+ACI-+AD4-+AF0-+AD4-<d>+ACY-x+ADs-</d>"
        )
        with pytest.raises(MappingError) as caught:
            parse_untrusted(Problems(), raw, "test")
        assert [p.reason for p in caught.value.problems] == [DTD_REFUSED]

    def test_nesting_past_libxml2s_limit_is_named_without_advice_to_lift_it(self):
        with pytest.raises(MappingError) as caught:
            parse_untrusted(Problems(), b"<a>" * 10_000 + b"</a>" * 10_000, "test")
        [problem] = caught.value.problems
        assert problem.reason == "refused: elements are nested more than 256 levels deep"

    def test_a_hidden_character_in_any_text_or_attribute_is_refused_at_its_path(self):
        raw = (
            b'<Document xmlns="urn:x"><Amt Ccy="CN\xe2\x80\xaeY">1.00</Amt>'
            b"<Nm>\xe2\x80\x8bAcme</Nm><Ustrd>line one\n\tline two</Ustrd></Document>"
        )
        with pytest.raises(MappingError) as caught:
            parse_untrusted(Problems(), raw, "test")
        assert [(p.path, p.reason.split(":")[0]) for p in caught.value.problems] == [
            ("/Document/Amt/@Ccy", "contains U+202E RIGHT-TO-LEFT OVERRIDE"),
            ("/Document/Nm", "contains U+200B ZERO WIDTH SPACE"),
        ]

    def test_an_xinclude_is_left_unresolved(self):
        raw = (
            b'<d xmlns:xi="http://www.w3.org/2001/XInclude">'
            b'<xi:include href="/etc/passwd" parse="text"/></d>'
        )
        root = parse_untrusted(Problems(), raw, "test")
        assert "root:" not in "".join(root.itertext())
        assert len(root) == 1

    def test_every_lxml_parse_in_mappings_goes_through_the_hardened_parser(self):
        parse = re.compile(r"etree\.(?:fromstring|parse|XML|iterparse|XMLParser|XMLPullParser)\(")
        offenders = []
        for module in sorted(MAPPINGS.glob("*.py")):
            for number, line in enumerate(module.read_text(encoding="utf-8").splitlines(), 1):
                if parse.search(line) and "hardened_parser()" not in line and not (
                    module.name == "_xml.py" and "etree.XMLParser(" in line
                ):
                    offenders.append(f"{module.name}:{number}: {line.strip()}")
        assert offenders == []

    def test_a_family_guess_names_the_doctype_rather_than_an_unknown_head(self):
        raw = f'<?xml version="1.0"?>{LAUGHS}'.encode()
        with pytest.raises(UnknownFormat, match=re.escape(DTD_REFUSED)):
            recognise(raw, family="bank")
