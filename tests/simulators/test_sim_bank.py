import hashlib
from pathlib import Path

import pytest
from lxml import etree

from tests.simulators.sim_pain001 import NS002, Block, Message, Tx, build, one

SCHEMAS = Path(__file__).resolve().parents[2] / "simulators" / "bank" / "schemas"
XML = {"Content-Type": "application/xml"}
P = {"p": NS002}


@pytest.fixture(scope="module")
def pain002_schema():
    return etree.XMLSchema(etree.parse(str(SCHEMAS / "pain.002.001.10.xsd")))


def _report(response, schema):
    assert response.headers["content-type"].startswith("application/xml")
    document = etree.fromstring(response.content)
    schema.assertValid(document)
    return document


def _tx_status(document, end_to_end_id):
    tx = document.find(f".//p:TxInfAndSts[p:OrgnlEndToEndId='{end_to_end_id}']", P)
    reason = tx.findtext("p:StsRsnInf/p:Rsn/p:Cd", namespaces=P)
    return tx.findtext("p:TxSts", namespaces=P), reason, tx.findtext("p:AcctSvcrRef", namespaces=P)


def _group(document):
    group = document.find("p:CstmrPmtStsRpt/p:OrgnlGrpInfAndSts", P)
    return (
        group.findtext("p:GrpSts", namespaces=P),
        group.findtext("p:StsRsnInf/p:Rsn/p:Cd", namespaces=P),
    )


async def _send(client, xml):
    return await client.post("/iso20022/pain.001", content=xml, headers=XML)


def test_bundled_schemas_are_the_unmodified_iso_files():
    expected = {
        "pain.001.001.09.xsd": "de038b373e47b0077b1832ddd81f4b2f1eb25d35721f62da1e38b7f5a09fda24",
        "pain.002.001.10.xsd": "2f9f8d0e9891fa9f31ccf0576397afe501614384d688ae6e43ba694b3d24b0cf",
    }
    for name, digest in expected.items():
        assert hashlib.sha256((SCHEMAS / name).read_bytes()).hexdigest() == digest


def test_the_hand_built_test_file_is_valid_pain_001():
    schema = etree.XMLSchema(etree.parse(str(SCHEMAS / "pain.001.001.09.xsd")))
    schema.assertValid(etree.fromstring(one("MSG-1", "E2E-1", "1000.00")))


async def test_payment_executes_once_and_answers_acsc(bank_client, pain002_schema):
    response = await _send(bank_client, one("MSG-1", "E2E-1", "113000.00"))
    assert response.status_code == 200
    report = _report(response, pain002_schema)
    assert report.findtext(".//p:OrgnlMsgId", namespaces=P) == "MSG-1"
    assert report.findtext(".//p:OrgnlMsgNmId", namespaces=P) == "pain.001.001.09"
    assert _group(report) == ("ACSC", None)
    status, reason, ref = _tx_status(report, "E2E-1")
    assert (status, reason) == ("ACSC", None)
    assert ref
    assert report.findtext(".//p:OrgnlInstrId", namespaces=P) == "DISB-E2E-1"
    ledger = (await bank_client.get("/admin/ledger")).json()
    assert len(ledger) == 1
    assert ledger[0]["amount"] == "113000.00"
    assert ledger[0]["end_to_end_id"] == "E2E-1"
    assert ledger[0]["creditor_account"] == "31050161373600001234"
    assert ledger[0]["creditor_name"] == "苏州华盛精密机械有限公司"
    assert ledger[0]["msg_id"] == "MSG-1"


async def test_resend_with_same_end_to_end_id_never_pays_twice(bank_client, pain002_schema):
    first = _report(await _send(bank_client, one("MSG-1", "E2E-1", "500.00")), pain002_schema)
    again = _report(await _send(bank_client, one("MSG-1", "E2E-1", "500.00")), pain002_schema)
    new_file = _report(await _send(bank_client, one("MSG-2", "E2E-1", "500.00")), pain002_schema)
    assert _tx_status(again, "E2E-1") == _tx_status(first, "E2E-1")
    assert _tx_status(new_file, "E2E-1") == _tx_status(first, "E2E-1")
    assert len((await bank_client.get("/admin/ledger")).json()) == 1
    stats = (await bank_client.get("/admin/stats")).json()
    assert stats["received_messages"] == 3
    assert stats["executed"] == 1
    assert stats["duplicates_ignored"] == 2
    assert stats["max_executions_per_end_to_end_id"] == 1
    attempts = (await bank_client.get("/admin/attempts")).json()
    assert attempts == [{"end_to_end_id": "E2E-1", "attempted": 3, "executed": 1}]


async def test_same_end_to_end_id_with_different_amount_is_rejected_am05(
    bank_client, pain002_schema
):
    await _send(bank_client, one("MSG-1", "E2E-1", "500.00"))
    other_amount = _report(
        await _send(bank_client, one("MSG-2", "E2E-1", "600.00")), pain002_schema
    )
    other_account = _report(
        await _send(bank_client, one("MSG-3", "E2E-1", "500.00", creditor_account="999")),
        pain002_schema,
    )
    assert _tx_status(other_amount, "E2E-1")[:2] == ("RJCT", "AM05")
    assert _tx_status(other_account, "E2E-1")[:2] == ("RJCT", "AM05")
    assert len((await bank_client.get("/admin/ledger")).json()) == 1
    query = _report(await bank_client.get("/iso20022/payments/E2E-1"), pain002_schema)
    assert _tx_status(query, "E2E-1")[0] == "ACSC"  # the original payment still stands


async def test_reused_msg_id_with_different_content_is_rejected_du01(bank_client, pain002_schema):
    await _send(bank_client, one("MSG-1", "E2E-1", "500.00"))
    response = await _send(bank_client, one("MSG-1", "E2E-2", "700.00"))
    report = _report(response, pain002_schema)
    assert _group(report) == ("RJCT", "DU01")
    assert report.find(".//p:TxInfAndSts", P) is None
    assert len((await bank_client.get("/admin/ledger")).json()) == 1


async def test_wrong_nb_of_txs_or_ctrl_sum_rejects_the_group(bank_client, pain002_schema):
    two = [Tx("E2E-A", "100.00"), Tx("E2E-B", "200.00")]
    bad_count = build(Message("MSG-N", [Block(two)], nb_of_txs="3"))
    bad_sum = build(Message("MSG-S", [Block(two)], ctrl_sum="300.01"))
    assert _group(_report(await _send(bank_client, bad_count), pain002_schema)) == ("RJCT", "AM18")
    assert _group(_report(await _send(bank_client, bad_sum), pain002_schema)) == ("RJCT", "AM10")
    assert (await bank_client.get("/admin/ledger")).json() == []
    query = _report(await bank_client.get("/iso20022/payments/E2E-A"), pain002_schema)
    assert _tx_status(query, "E2E-A")[:2] == ("RJCT", "AM10")
    fixed = _report(
        await _send(bank_client, build(Message("MSG-OK", [Block(two)]))), pain002_schema
    )
    assert _group(fixed) == ("ACSC", None)  # a corrected file may reuse the EndToEndIds
    assert len((await bank_client.get("/admin/ledger")).json()) == 2


async def test_block_level_count_error_rejects_only_that_block(bank_client, pain002_schema):
    good = Block([Tx("E2E-G", "10.00")], pmt_inf_id="PMT-G")
    bad = Block([Tx("E2E-X", "20.00")], pmt_inf_id="PMT-X", ctrl_sum="25.00")
    report = _report(
        await _send(bank_client, build(Message("MSG-B", [good, bad], ctrl_sum="30.00"))),
        pain002_schema,
    )
    assert _group(report) == ("PART", None)
    blocks = report.findall(".//p:OrgnlPmtInfAndSts", P)
    assert [b.findtext("p:PmtInfSts", namespaces=P) for b in blocks] == ["ACSC", "RJCT"]
    assert blocks[1].findtext("p:StsRsnInf/p:Rsn/p:Cd", namespaces=P) == "AM17"


async def test_insufficient_funds_is_rejected_am04(bank_client, pain002_schema):
    await bank_client.post(
        "/admin/balances", json={"account": "6225880137001234", "balance": "1000.00"}
    )
    txs = [Tx("E2E-1", "600.00"), Tx("E2E-2", "600.00")]
    report = _report(
        await _send(bank_client, build(Message("MSG-1", [Block(txs)]))), pain002_schema
    )
    assert _group(report) == ("PART", None)
    assert _tx_status(report, "E2E-1")[0] == "ACSC"
    assert _tx_status(report, "E2E-2")[:2] == ("RJCT", "AM04")
    assert (await bank_client.get("/admin/balances")).json() == {"6225880137001234": "400.00"}


async def test_more_than_two_decimals_in_cny_is_rejected_ch20(bank_client, pain002_schema):
    report = _report(await _send(bank_client, one("MSG-1", "E2E-1", "10.005")), pain002_schema)
    assert _tx_status(report, "E2E-1")[:2] == ("RJCT", "CH20")


async def test_lost_answer_executes_and_the_query_shows_the_payment(bank_client, pain002_schema):
    faults = await bank_client.post("/admin/faults", json={"lose_answer_rate": 1.0, "seed": 3})
    assert faults.status_code == 200
    lost = await _send(bank_client, one("MSG-1", "E2E-LOST", "88000.00"))
    assert lost.status_code == 504
    assert b"Document" not in lost.content
    await bank_client.post("/admin/faults", json={})
    query = await bank_client.get("/iso20022/payments/E2E-LOST")
    assert query.status_code == 200
    report = _report(query, pain002_schema)
    assert _tx_status(report, "E2E-LOST")[0] == "ACSC"
    assert report.findtext(".//p:OrgnlMsgId", namespaces=P) == "MSG-1"
    resend = _report(await _send(bank_client, one("MSG-1", "E2E-LOST", "88000.00")), pain002_schema)
    assert _tx_status(resend, "E2E-LOST")[0] == "ACSC"
    assert len((await bank_client.get("/admin/ledger")).json()) == 1
    stats = (await bank_client.get("/admin/stats")).json()
    assert stats["lost_answers"] == 1
    assert stats["max_executions_per_end_to_end_id"] == 1


async def test_injected_errors_execute_nothing(bank_client):
    await bank_client.post("/admin/faults", json={"error_rate": 1.0, "error_status": 503})
    response = await _send(bank_client, one("MSG-1", "E2E-1", "1.00"))
    assert response.status_code == 503
    await bank_client.post("/admin/faults", json={})
    assert (await bank_client.get("/admin/ledger")).json() == []
    assert (await bank_client.get("/iso20022/payments/E2E-1")).status_code == 404


async def test_fault_decisions_repeat_for_the_same_seed(bank_client):
    async def run():
        await bank_client.post("/admin/reset")
        await bank_client.post("/admin/faults", json={"error_rate": 0.5, "seed": 42})
        codes = []
        for n in range(20):
            response = await _send(bank_client, one(f"MSG-{n}", f"E2E-{n}", "1.00"))
            codes.append(response.status_code)
        return codes

    first, second = await run(), await run()
    assert first == second
    assert set(first) == {200, 503}


async def test_unknown_end_to_end_id_is_404(bank_client):
    response = await bank_client.get("/iso20022/payments/NEVER-SENT")
    assert response.status_code == 404
    assert response.json() == {"error": "unknown end_to_end_id"}


@pytest.mark.parametrize(
    "body",
    [
        b"<Document><unclosed>",
        b"",
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "boom">]><Document>&x;</Document>',
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"><Nope/></Document>',
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"/>',
    ],
)
async def test_bad_xml_is_400_ff01_and_executes_nothing(bank_client, body):
    response = await _send(bank_client, body)
    assert response.status_code == 400
    assert response.json()["reason"] == "FF01"
    assert response.json()["error"]
    assert (await bank_client.get("/admin/stats")).json()["received_messages"] == 0


async def test_xsd_invalid_amount_is_bad_xml(bank_client):
    xml = one("MSG-1", "E2E-1", "1000.00").replace(b"1000.00", b"-5")
    response = await _send(bank_client, xml)
    assert response.status_code == 400
    assert response.json()["details"]


async def test_reset_forgets_everything(bank_client):
    await _send(bank_client, one("MSG-1", "E2E-1", "1.00"))
    await bank_client.post("/admin/reset")
    assert (await bank_client.get("/admin/ledger")).json() == []
    assert (await bank_client.get("/iso20022/payments/E2E-1")).status_code == 404
    stats = (await bank_client.get("/admin/stats")).json()
    assert stats["received_messages"] == 0
    assert stats["max_executions_per_end_to_end_id"] == 0
