import json
import re
from decimal import Decimal

from simulators.erp.dataset import generate_companies, generate_invoices
from simulators.erp.payloads import hub_path, render
from simulators.erp.yonyou import money_is_numeric

CASES = generate_invoices(21, 400, generate_companies(21))
KINGDEE = [c for c in CASES if c.vendor == "kingdee"]
YONYOU = [c for c in CASES if c.vendor == "yonyou"]


def _load(case):
    """Parse as the hub must: numbers straight to Decimal, never through float."""
    return json.loads(render(case).decode("utf-8"), parse_float=Decimal)


def _kingdee_data(body):
    data = body["data"]
    return json.loads(data, parse_float=Decimal) if isinstance(data, str) else data


def test_kingdee_body_carries_invoice_order_and_receivable():
    case = KINGDEE[0]
    body = _load(case)
    data = _kingdee_data(body)
    model = data["Model"]
    assert body["formid"] == ("IV_SALESIC" if case.invoice.kind == "special" else "IV_SALESOC")
    assert model["FID"] == 0
    assert model["FBillNo"] == case.document_no
    assert model["FDOCUMENTSTATUS"] == "C"
    assert model["FIVNUMBER"] == case.invoice.number
    assert model["FIVCODE"] == ""
    assert model["FTAXREGISTERCODE"] == case.buyer.uscc
    assert model["FINVOICETITLE"] == case.buyer.name
    assert model["FCUSTOMERID"] == {"FNumber": case.buyer.kingdee_customer_number}
    assert model["FSETTLEORGID"] == {"FNumber": case.seller.kingdee_org_number}
    assert data["SellerOrg"]["FSOCIALCRECODE"] == case.seller.uscc
    assert model["FHEADAUXPRICEFOR"] == case.invoice.amount
    assert model["FTAXAMOUNTFOR"] == case.invoice.tax
    assert model["FAFTERTOTALTAXFOR"] == case.invoice.total
    entries = model["FSALESICENTRY"]
    assert [e["FPRICEQTY"] for e in entries] == [ln.quantity for ln in case.invoice.lines]
    assert {e["FSALESORDERNO"] for e in entries} == {case.order.number}
    order = data["Related"]["SAL_SaleOrder"][0]
    assert order["FBillNo"] == case.order.number
    assert sum(e["FAllAmount"] for e in order["FSaleOrderEntry"]) == case.order.total
    receivable = data["Related"]["AR_receivable"][0]
    assert receivable["FENDDATE_H"] == case.due_date.isoformat()
    assert receivable["FEntityPlan"][0]["FPAYAMOUNTFOR"] == case.invoice.total
    assert hub_path(case) == "/v1/erp/kingdee/invoices"


def test_kingdee_sometimes_sends_data_as_a_json_string():
    strings = sum(isinstance(json.loads(render(c))["data"], str) for c in KINGDEE)
    assert 0.03 * len(KINGDEE) <= strings <= 0.2 * len(KINGDEE)


def test_kingdee_numbers_are_exact_decimal_text():
    for case in KINGDEE:
        text = render(case).decode()
        assert not re.search(r"\d\.\d*0000000\d|\d\.\d*9999999\d", text)
        assert not re.search(r"\d[eE][+-]?\d", text.replace(case.invoice.number, ""))
        model = _kingdee_data(_load(case))["Model"]
        for entry, line in zip(model["FSALESICENTRY"], case.invoice.lines, strict=True):
            assert entry["FAUXPRICE"] == line.unit_price
            assert entry["FAUXTAXPRICE"] == line.unit_price_incl_tax
            assert entry["FAMOUNTFOR"] == line.amount
            assert entry["FDETAILTAXAMOUNTFOR"] == line.tax
            assert entry["FALLAMOUNTFOR"] == line.total


def test_yonyou_body_carries_invoice_and_sales_order():
    case = YONYOU[0]
    body = _load(case)
    data = body["data"]
    assert data["code"] == case.document_no
    assert data["id"] == str(case.erp_id)
    assert data["orgId"] == case.seller.yonyou_org_id
    assert isinstance(data["agentId"], int)
    assert data["invAgentTaxNo"] == case.buyer.uscc
    assert data["einvoiceHm"] == case.invoice.number
    assert data["invDirection"] == "2"
    assert data["businessState"] == 2
    assert data["_status"] == "Insert"
    assert data["vouchdate"] == f"{case.invoice.issue_date.isoformat()} 00:00:00"
    assert data["maturityDate"] == f"{case.due_date.isoformat()} 00:00:00"
    assert Decimal(data["oriSum"]) == case.invoice.total
    assert body["org"] == {
        "code": case.seller.yonyou_org_code,
        "name": case.seller.name,
        "taxNo": case.seller.uscc,
    }
    order = body["related"]["saleOrders"][0]
    assert order["code"] == case.order.number
    assert {d["orderNo"] for d in data["saleInvoiceDetails"]} == {case.order.number}
    assert Decimal(order["oriSum"]) == case.order.total
    assert hub_path(case) == "/v1/erp/yonyou/invoices"


def test_yonyou_money_is_strings_or_whole_json_integers_never_json_floats():
    numeric = 0
    for case in YONYOU:
        data = _load(case)["data"]
        line = data["saleInvoiceDetails"][0]
        for value in (data["oriSum"], data["oriMoney"], data["oriTax"], line["oriTaxUnitPrice"]):
            assert not isinstance(value, Decimal), "a JSON float may have lost precision"
        if money_is_numeric(case):
            numeric += 1
        if isinstance(data["oriSum"], str):
            assert re.fullmatch(r"\d+\.\d\d", data["oriSum"])
        if isinstance(line["oriTaxUnitPrice"], str):
            assert re.fullmatch(r"\d+\.\d{2,4}", line["oriTaxUnitPrice"])
        assert Decimal(str(data["oriMoney"])) == case.invoice.amount
        assert Decimal(str(data["oriTax"])) == case.invoice.tax
    assert 0.03 * len(YONYOU) <= numeric <= 0.2 * len(YONYOU)


def test_payloads_are_utf8_with_chinese_names_unescaped():
    case = CASES[0]
    assert case.buyer.name.encode() in render(case)
