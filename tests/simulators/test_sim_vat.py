"""The VAT invoice platform simulator answers 查验 with every outcome and serves 数电票 XML."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from lxml import etree

from simulators import runner
from simulators.common.clock import CST
from simulators.erp.dataset import generate_companies, generate_invoices
from simulators.runner import running_simulators
from simulators.vat import create_app
from simulators.vat.einvoice import amount_in_words
from tests.simulators.conftest import asgi_client

VERIFY = "/api/v1/invoice/verify"
TODAY = date(2026, 11, 28)


class Clock:
    """A settable CST clock, so a test can move to the next day."""

    def __init__(self, day: date = TODAY) -> None:
        self.now = datetime(day.year, day.month, day.day, 10, 0, tzinfo=CST)

    def __call__(self) -> datetime:
        return self.now


def _app(seed: int = 1, clock: Callable[[], datetime] | None = None) -> Any:
    return create_app(seed, clock=clock or Clock())


async def _listing(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    return (await client.get("/admin/invoices")).json()  # type: ignore[no-any-return]


def _query(item: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body = {
        "invoiceCode": "",
        "invoiceNo": item["invoiceNo"],
        "invoiceDate": item["invoiceDate"],
        "invoiceAmount": item["totalAmount"],
        "invoiceType": item["invoiceType"],
    }
    body.update(changes)
    return body


async def _verify(client: httpx.AsyncClient, body: Any) -> dict[str, Any]:
    response = await client.post(VERIFY, json=body)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def _scenario(client: httpx.AsyncClient, section: dict[str, Any]) -> None:
    response = await client.post("/admin/scenario", json=section)
    assert response.status_code == 200, response.text


async def test_a_matching_query_is_consistent_and_returns_the_face_of_the_erp_invoice():
    cases = generate_invoices(1, 100, generate_companies(1), {})
    async with asgi_client(_app()) as client:
        item = (await _listing(client))[0]
        body = await _verify(client, _query(item))
    case = cases[0]
    assert (body["code"], body["cyjgdm"], body["success"]) == ("0000", "001", True)
    data = body["data"]
    assert data["invoiceNo"] == case.invoice.number
    assert (data["sellerTaxNo"], data["buyerTaxNo"]) == (case.seller.uscc, case.buyer.uscc)
    assert (data["sellerName"], data["buyerName"]) == (case.seller.name, case.buyer.name)
    assert Decimal(data["invoiceAmount"]) == case.invoice.amount
    assert Decimal(data["taxAmount"]) == case.invoice.tax
    assert Decimal(data["totalAmount"]) == case.invoice.total
    assert data["invoiceDate"] == f"{case.invoice.issue_date:%Y%m%d}"
    assert data["remark"] == f"订单号：{case.order.number}"
    assert (data["cancellationMark"], data["invoiceStatus"], data["redFlushStatus"]) == (
        "0",
        "0",
        "0",
    )
    assert [Decimal(d["detailAmount"]) for d in data["detailList"]] == [
        line.amount for line in case.invoice.lines
    ]
    assert all(len(d["flbm"]) == 19 for d in data["detailList"])


async def test_the_pinyin_input_names_and_dashed_dates_are_accepted_too():
    async with asgi_client(_app()) as client:
        item = (await _listing(client))[3]
        day = item["invoiceDate"]
        body = await _verify(
            client,
            {
                "fpdm": "",
                "fphm": item["invoiceNo"],
                "kprq": f"{day[:4]}-{day[4:6]}-{day[6:]}",
                "jshj": item["totalAmount"],
            },
        )
    assert body["code"] == "0000"


@pytest.mark.parametrize(
    "change",
    [
        {"invoiceDate": "20261001"},
        {"invoiceAmount": "1.00"},
        {"invoiceType": "flip"},
    ],
    ids=["date", "amount", "type"],
)
async def test_a_query_that_differs_from_the_invoice_is_inconsistent(change):
    async with asgi_client(_app()) as client:
        item = (await _listing(client))[0]
        if change.get("invoiceType") == "flip":
            change = {"invoiceType": "32" if item["invoiceType"] == "31" else "31"}
        body = await _verify(client, _query(item, **change))
    assert (body["code"], body["cyjgdm"], body["data"]) == ("0006", "006", None)


async def test_the_amount_basis_decides_whether_the_tax_exclusive_amount_matches():
    async with asgi_client(_app()) as client:
        item = (await _listing(client))[0]
        face = (await _verify(client, _query(item)))["data"]
        excl = _query(item, invoiceAmount=face["invoiceAmount"])
        assert (await _verify(client, excl))["code"] == "0006"
        await _scenario(client, {"amount_basis": "amount"})
        assert (await _verify(client, excl))["code"] == "0000"
        assert (await _verify(client, _query(item)))["code"] == "0006"


async def test_a_void_invoice_verifies_with_the_cancellation_mark():
    async with asgi_client(_app()) as client:
        item = (await _listing(client))[2]
        await _scenario(client, {"invoices": [{"number": item["invoiceNo"], "status": "void"}]})
        data = (await _verify(client, _query(item)))["data"]
    assert (data["cancellationMark"], data["invoiceStatus"], data["invoiceStatusName"]) == (
        "1",
        "2",
        "作废",
    )


async def test_an_out_of_control_invoice_verifies_with_its_status():
    async with asgi_client(_app()) as client:
        item = (await _listing(client))[2]
        await _scenario(client, {"invoices": [{"index": 2, "status": "out_of_control"}]})
        data = (await _verify(client, _query(item)))["data"]
    assert (data["cancellationMark"], data["invoiceStatus"], data["invoiceStatusName"]) == (
        "0",
        "1",
        "失控",
    )


async def test_a_fully_red_flushed_invoice_names_its_red_invoice_which_is_verifiable_too():
    async with asgi_client(_app()) as client:
        item = (await _listing(client))[1]
        await _scenario(client, {"invoices": [{"index": 1, "status": "red_full"}]})
        data = (await _verify(client, _query(item)))["data"]
        assert (data["invoiceStatus"], data["redFlushStatus"]) == ("8", "2")
        [red] = data["redInvoices"]
        assert Decimal(red["totalAmount"]) == -Decimal(item["totalAmount"])
        red_query = {
            "invoiceNo": red["invoiceNo"],
            "invoiceDate": red["invoiceDate"],
            "invoiceAmount": red["totalAmount"],
        }
        red_face = (await _verify(client, red_query))["data"]
        listed = {i["invoiceNo"]: i for i in await _listing(client)}
    assert red_face["originalInvoiceNo"] == item["invoiceNo"]
    assert red_face["invoiceStatus"] == "0"
    assert all(Decimal(d["num"]) < 0 for d in red_face["detailList"])
    assert listed[red["invoiceNo"]]["originalInvoiceNo"] == item["invoiceNo"]
    assert listed[item["invoiceNo"]]["status"] == "red_full"


async def test_a_partly_red_flushed_invoice_flushes_exactly_the_amount_asked():
    async with asgi_client(_app()) as client:
        item = (await _listing(client))[0]
        mark = {"index": 0, "status": "red_partial", "red_amount": "1000.01"}
        await _scenario(client, {"invoices": [mark]})
        data = (await _verify(client, _query(item)))["data"]
    assert (data["invoiceStatus"], data["redFlushStatus"]) == ("7", "1")
    [red] = data["redInvoices"]
    assert Decimal(red["invoiceAmount"]) == Decimal("-1000.01")
    assert Decimal(red["totalAmount"]) == Decimal(red["invoiceAmount"]) + Decimal(red["taxAmount"])
    assert red["confirmationNo"]


async def test_an_unknown_invoice_or_a_legacy_one_is_not_found():
    async with asgi_client(_app()) as client:
        item = (await _listing(client))[0]
        unknown = await _verify(client, _query(item, invoiceNo="26320000000000000001"))
        legacy = await _verify(
            client,
            {
                "invoiceCode": "032002300111",
                "invoiceNo": "00530027",
                "invoiceDate": "20261020",
                "checkCode": "625687",
                "invoiceType": "10",
            },
        )
    assert (unknown["code"], unknown["cyjgdm"]) == ("0009", "009")
    assert (legacy["code"], legacy["cyjgdm"]) == ("0009", "009")


async def test_an_invoice_issued_today_is_not_found_until_the_next_day():
    clock = Clock()
    async with asgi_client(_app(clock=clock)) as client:
        item = (await _listing(client))[0]
        issued = datetime.strptime(item["invoiceDate"], "%Y%m%d").date()
        clock.now = datetime(issued.year, issued.month, issued.day, 18, tzinfo=CST)
        today = await _verify(client, _query(item))
        clock.now += timedelta(days=1)
        tomorrow = await _verify(client, _query(item))
    assert (today["code"], today["cyjgdm"]) == ("0009", "rqerr")
    assert "次日" in today["message"]
    assert tomorrow["code"] == "0000"


async def test_an_invoice_marked_not_synced_is_not_yet_visible():
    async with asgi_client(_app()) as client:
        item = (await _listing(client))[4]
        await _scenario(client, {"invoices": [{"index": 4, "status": "not_synced"}]})
        body = await _verify(client, _query(item))
    assert (body["code"], body["cyjgdm"]) == ("0009", "rqerr")


async def test_the_sixth_check_of_one_invoice_in_a_day_hits_the_daily_limit():
    clock = Clock()
    async with asgi_client(_app(clock=clock)) as client:
        item = (await _listing(client))[0]
        codes = [(await _verify(client, _query(item)))["code"] for _ in range(6)]
        other = (await _listing(client))[1]
        other_code = (await _verify(client, _query(other)))["code"]
        clock.now += timedelta(days=1)
        next_day = (await _verify(client, _query(item)))["code"]
        state = (await client.get("/admin/state")).json()
    assert codes == ["0000"] * 5 + ["0002"]
    assert other_code == "0000"
    assert next_day == "0000"
    counted = state["queries"][item["invoiceNo"]]
    assert counted == {"total": 6, "today": 1, "outcomes": {"0000": 6, "0002": 1}}


async def test_a_scenario_lowers_the_daily_limit_and_inconsistent_checks_count_too():
    async with asgi_client(_app()) as client:
        item = (await _listing(client))[0]
        await _scenario(client, {"daily_limit": 2})
        first = await _verify(client, _query(item, invoiceAmount="1.00"))
        second = await _verify(client, _query(item))
        third = await _verify(client, _query(item))
    assert [first["code"], second["code"], third["code"]] == ["0006", "0000", "0002"]
    assert second["data"]["checkCount"] == "2"
    assert "当日查验次数" in third["message"]


def _electronic(**fields: str) -> dict[str, str]:
    return {"invoiceNo": "2" * 20, "invoiceDate": "20261020", "invoiceAmount": "1", **fields}


def _legacy(**fields: str) -> dict[str, str]:
    return {"invoiceNo": "12345678", "invoiceCode": "032002300111", "invoiceDate": "20261020",
            **fields}  # fmt: skip


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"invoiceDate": "20261020", "invoiceAmount": "1.00"}, "invoiceNo"),
        (_electronic(invoiceNo="123"), "invoiceNo"),
        (_electronic(invoiceDate="2026/10/20"), "invoiceDate"),
        (_electronic(invoiceDate="20261131"), "invoiceDate"),
        (_electronic(invoiceAmount="1.001"), "invoiceAmount"),
        (_electronic(invoiceCode="1"), "body"),
        ({"invoiceNo": "2" * 20, "invoiceDate": "20261020"}, "body"),
        (_electronic(invoiceType="99"), "invoiceType"),
        (_electronic(invoiceType="10"), "body"),
        (_legacy(invoiceCode="1234", invoiceAmount="1"), "body"),
        (_legacy(invoiceType="10"), "body"),
        (_legacy(invoiceType="01"), "body"),
    ],
    ids=["no number", "short number", "date", "no such day", "fractions of fen", "code on 数电",
         "no amount", "type", "legacy type on 数电", "legacy code", "legacy check code",
         "legacy amount"],
)  # fmt: skip
async def test_a_malformed_query_is_refused_as_illegal_and_names_the_field(body, field):
    async with asgi_client(_app()) as client:
        answer = await _verify(client, body)
        state = (await client.get("/admin/state")).json()
    assert (answer["code"], answer["cyjgdm"], answer["success"]) == ("0005", "005", False)
    assert field in [e["field"] for e in answer["errors"]]
    assert state["queries"] == {}


async def test_a_body_that_is_not_json_a_future_date_and_a_too_old_date_are_illegal():
    async with asgi_client(_app()) as client:
        not_json = (await client.post(VERIFY, content=b"fphm=1")).json()
        future = await _verify(
            client, {"invoiceNo": "2" * 20, "invoiceDate": "20261129", "invoiceAmount": "1"}
        )
        old = await _verify(
            client, {"invoiceNo": "2" * 20, "invoiceDate": "20211127", "invoiceAmount": "1"}
        )
    assert not_json["code"] == "0005"
    assert (future["code"], future["message"]) == ("0005", "开票日期超过当前日期")
    assert (old["code"], old["message"]) == ("0005", "超过五年的发票不能查验")


def _xml(content: bytes) -> etree._Element:
    assert content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    content.decode("utf-8")  # valid UTF-8 or this raises
    return etree.fromstring(content)


async def test_the_einvoice_xml_carries_the_real_elements_and_adds_up():
    async with asgi_client(_app()) as client:
        item = (await _listing(client))[0]
        response = await client.get(f"/api/v1/einvoice/{item['invoiceNo']}/xml")
        face = (await _verify(client, _query(item)))["data"]
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    root = _xml(response.content)
    assert root.tag == "EInvoice"
    assert root.findtext("Header/EIid") == item["invoiceNo"]
    assert root.findtext("TaxSupervisionInfo/InvoiceNumber") == item["invoiceNo"]
    assert root.findtext("Header/EInvoiceTag") == f"SWEI{item['invoiceNo'][2:4]}00"
    assert root.findtext("Header/InherentLabel/InIssuType/LabelCode") == "Y"
    special = root.findtext("Header/InherentLabel/GeneralOrSpecialVAT/LabelCode")
    assert special == ("01" if item["invoiceType"] == "31" else "02")
    data = root.find("EInvoiceData")
    assert data is not None
    assert data.findtext("SellerInformation/SellerIdNum") == face["sellerTaxNo"]
    assert data.findtext("BuyerInformation/BuyerIdNum") == face["buyerTaxNo"]
    basic = data.find("BasicInformation")
    assert basic is not None
    amount, tax = (
        Decimal(basic.findtext("TotalAmWithoutTax", "")),
        Decimal(basic.findtext("TotalTaxAm", "")),
    )
    total = Decimal(basic.findtext("TotalTax-includedAmount", ""))
    assert (amount + tax, str(total)) == (total, item["totalAmount"])
    assert basic.findtext("TotalTax-includedAmountInChinese") == amount_in_words(total)
    assert basic.findtext("RequestTime", "").startswith(
        f"{item['invoiceDate'][:4]}-{item['invoiceDate'][4:6]}-{item['invoiceDate'][6:]} "
    )
    lines = data.findall("IssuItemInformation")
    assert len(lines) == len(face["detailList"])
    assert sum(Decimal(line.findtext("Amount", "")) for line in lines) == amount
    assert sum(Decimal(line.findtext("ComTaxAm", "")) for line in lines) == tax
    for line in lines:
        assert line.findtext("ItemName", "").startswith("*")
        assert Decimal(line.findtext("TaxRate", "")) in (Decimal("0.13"), Decimal("0.06"))
        assert len(line.findtext("TaxClassificationCode", "")) == 19
    assert data.find("SpecificInformation") is None


async def test_the_red_invoice_xml_is_negative_and_references_the_blue_one():
    async with asgi_client(_app()) as client:
        item = (await _listing(client))[0]
        await _scenario(client, {"invoices": [{"index": 0, "status": "red_full"}]})
        state = (await client.get("/admin/state")).json()
        red_no = state["markings"][item["invoiceNo"]]["red_invoice"]
        root = _xml((await client.get(f"/api/v1/einvoice/{red_no}/xml")).content)
    assert root.findtext("Header/InherentLabel/InIssuType/LabelCode") == "N"
    original = "EInvoiceData/SpecificInformation/RedEInvoice/OriginalInvoiceCode"
    assert root.findtext(original) == item["invoiceNo"]
    total = root.findtext("EInvoiceData/BasicInformation/TotalTax-includedAmount")
    assert total == f"-{item['totalAmount']}"
    words = root.findtext("EInvoiceData/BasicInformation/TotalTax-includedAmountInChinese", "")
    assert words.startswith("（负数）")
    assert item["invoiceNo"] in root.findtext("EInvoiceData/AdditionalInformation/Remark", "")


async def test_downloads_are_counted_and_unknown_or_bad_numbers_are_refused():
    async with asgi_client(_app()) as client:
        item = (await _listing(client))[0]
        for _ in range(2):
            await client.get(f"/api/v1/einvoice/{item['invoiceNo']}/xml")
        missing = await client.get(f"/api/v1/einvoice/{'3' * 20}/xml")
        bad = await client.get("/api/v1/einvoice/12ab/xml")
        state = (await client.get("/admin/state")).json()
    assert (missing.status_code, missing.json()["code"]) == (404, "0009")
    assert (bad.status_code, bad.json()["code"]) == (400, "0005")
    assert state["downloads"] == {item["invoiceNo"]: 2}
    assert state["totals"]["downloads"] == 2


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("1272.00", "壹仟贰佰柒拾贰圆整"),
        ("5.61", "伍圆陆角壹分"),
        ("100.05", "壹佰圆零伍分"),
        ("0.50", "伍角"),
        ("10005.00", "壹万零伍圆整"),
        ("100000005.10", "壹亿零伍圆壹角"),
        ("2677325.53", "贰佰陆拾柒万柒仟叁佰贰拾伍圆伍角叁分"),
        ("-1050.00", "（负数）壹仟零伍拾圆整"),
    ],
)
def test_amounts_are_written_in_chinese_capitals(value, words):
    assert amount_in_words(Decimal(value)) == words


async def test_the_same_seed_gives_the_same_invoices_and_xml_and_another_seed_does_not():
    listings, files = [], []
    for seed in (7, 7, 8):
        async with asgi_client(_app(seed)) as client:
            listing = await _listing(client)
            listings.append(listing)
            files.append(
                (await client.get(f"/api/v1/einvoice/{listing[0]['invoiceNo']}/xml")).content
            )
    assert listings[0] == listings[1]
    assert files[0] == files[1]
    assert listings[0] != listings[2]
    assert len(listings[0]) == 100


async def test_the_dataset_section_matches_the_erp_settings():
    settings = {"count": 12, "sellers": 3, "buyers": 4, "anomaly_rate": 0.1}
    cases = generate_invoices(5, 12, generate_companies(5, 3, 4), dict.fromkeys(
        ("order_amount_mismatch", "quantity_over_delivery"), 0.1))  # fmt: skip
    async with asgi_client(_app(5)) as client:
        await _scenario(client, {"dataset": settings})
        listing = await _listing(client)
    assert [(i["invoiceNo"], i["totalAmount"]) for i in listing] == [
        (c.invoice.number, f"{c.invoice.total:.2f}") for c in cases
    ]


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ({"daily_limit": 0}, "daily_limit"),
        ({"colour": "red"}, "colour"),
        ({"invoices": [{"status": "void"}]}, "invoices.0"),
        ({"invoices": [{"index": 1, "status": "burnt"}]}, "invoices.0.status"),
        ({"invoices": [{"index": 1, "status": "red_partial", "red_amount": "0.001"}]},
         "invoices.0.red_amount"),
    ],
)  # fmt: skip
async def test_an_invalid_scenario_is_refused_with_the_field_named(section, field):
    async with asgi_client(_app()) as client:
        response = await client.post("/admin/scenario", json=section)
    assert response.status_code == 422
    assert any(e["field"].startswith(field) for e in response.json()["errors"])


@pytest.mark.parametrize(
    ("mark", "reason"),
    [
        ({"index": 100, "status": "void"}, "outside the dataset"),
        ({"number": "1" * 20, "status": "void"}, "no blue invoice"),
        ({"index": 0, "status": "void", "red_amount": "5"}, "red_partial"),
        ({"index": 0, "status": "red_partial", "red_amount": "99999999"}, "partial red flush"),
    ],
)
async def test_a_scenario_mark_that_cannot_apply_changes_nothing(mark, reason):
    async with asgi_client(_app()) as client:
        response = await client.post(
            "/admin/scenario", json={"invoices": [{"index": 2, "status": "void"}, mark]}
        )
        state = (await client.get("/admin/state")).json()
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["reason"].startswith("invoices.1: ")
    assert reason in error["reason"]
    assert state["markings"] == {}


async def test_the_admin_status_endpoint_marks_and_unmarks_an_invoice():
    async with asgi_client(_app()) as client:
        item = (await _listing(client))[0]
        path = f"/admin/invoices/{item['invoiceNo']}/status"
        red = await client.post(path, json={"status": "red_full"})
        back = await client.post(path, json={"status": "normal"})
        refused = await client.post(path, json={"status": "red_partial"})
        data = (await _verify(client, _query(item)))["data"]
        listing = await _listing(client)
    assert red.json()["status"] == "red_full"
    assert red.json()["red_invoice"]
    assert back.json() == {"invoiceNo": item["invoiceNo"], "status": "normal", "red_invoice": None}
    assert refused.status_code == 422
    assert data["invoiceStatus"] == "0"
    assert red.json()["red_invoice"] not in {i["invoiceNo"] for i in listing}


async def test_reset_forgets_marks_limits_counts_and_the_received_journal():
    async with asgi_client(_app()) as client:
        item = (await _listing(client))[0]
        await _scenario(client, {"daily_limit": 1, "invoices": [{"index": 0, "status": "void"}]})
        await _verify(client, _query(item))
        await client.post("/admin/reset")
        state = (await client.get("/admin/state")).json()
        received = (await client.get("/admin/received")).json()
    assert state["markings"] == {}
    assert state["queries"] == {}
    assert state["daily_limit"] == 5
    assert received == []


async def test_an_injected_error_checks_nothing_and_a_lost_answer_still_uses_a_check():
    async with asgi_client(_app()) as client:
        item = (await _listing(client))[0]
        await _scenario(client, {"faults": {"error_rate": 1, "error_status": 503}})
        refused = await client.post(VERIFY, json=_query(item))
        await client.put("/admin/faults", json={"lose_answer_rate": 1})
        lost = await client.post(VERIFY, json=_query(item))
        state = (await client.get("/admin/state")).json()
    assert refused.status_code == 503
    assert (lost.status_code, lost.content) == (504, b"")
    assert state["queries"][item["invoiceNo"]]["total"] == 1


async def test_the_simulator_serves_over_a_real_loopback_socket():
    runner.SIMULATORS["vat-under-test"] = lambda seed: create_app(seed, clock=Clock())
    try:
        async with running_simulators(["vat-under-test"], seed=1) as sims:
            url = sims["vat-under-test"].base_url
            async with httpx.AsyncClient(base_url=url) as client:
                item = (await client.get("/admin/invoices")).json()[0]
                body = (await client.post(VERIFY, json=_query(item))).json()
    finally:
        del runner.SIMULATORS["vat-under-test"]
    assert body["code"] == "0000"
