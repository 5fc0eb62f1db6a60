"""The four K/3 Cloud forms the simulator knows: their field keys, entities and Save rules.

Field keys are matched case-insensitively (`FDate`, `FDATE`), as K/3 Cloud does; a bill is stored
with the spelling below so that View and ExecuteBillQuery answer one spelling whatever was sent.
Field lists follow formats-inbound.md §2.6-2.8.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

__all__ = [
    "BASE_DATA_FIELDS",
    "FORMS",
    "SYSTEM_FIELDS",
    "FormSpec",
    "find_form",
]

# Base-data reference fields ({"FNumber": ...}) and the kind of base data they point at.
BASE_DATA_FIELDS: Mapping[str, str] = {
    "FCUSTOMERID": "customer",
    "FCUSTID": "customer",
    "FSETTLEORGID": "org",
    "FSALEORGID": "org",
    "FPAYORGID": "org",
    "FCURRENCYID": "currency",
    "FLOCALCURRID": "currency",
    "FMAINBOOKSTDCURRID": "currency",
    "FMATERIALID": "material",
    "FBILLTYPEID": "bill_type",
    "FPRICEUNITID": "unit",
    "FBASICUNITID": "unit",
    "FUNITID": "unit",
    "FSALUNITID": "unit",
    "FSTOCKUNITID": "unit",
    "FSALEDEPTID": "department",
    "FSALEERID": "staff",
    "FSALERID": "staff",
    "FSETTLETYPEID": "settle_type",
    "FPAYCONDITON": "pay_condition",
    "FEXCHANGETYPE": "rate_type",
    "FORDERID": "customer",
    "FTRANSFERID": "customer",
    "FCHARGEID": "customer",
}
# Kinds whose numbers must exist (the others accept any code, like unaudited master data).
CHECKED_KINDS = frozenset({"customer", "org", "currency", "material"})

SYSTEM_FIELDS = ("FID", "FCreateDate", "FModifyDate", "FApproveDate")


@dataclass(frozen=True)
class FormSpec:
    """One form: header keys, sub-headers (one-to-one), entities (lines) and Save rules."""

    form_id: str
    label: str
    number_prefix: str
    status_key: str
    date_key: str
    header: tuple[str, ...]
    subheaders: Mapping[str, tuple[str, ...]]
    entities: Mapping[str, tuple[str, ...]]
    main_entity: str
    required: Mapping[str, str]  # header key -> label in the error message
    entry_required: Mapping[str, str]
    labels: Mapping[str, str] = field(default_factory=dict)

    @cached_property
    def canonical(self) -> dict[str, tuple[str, str | None]]:
        """UPPER key -> (canonical key, entity or sub-header it lives in, None for the header)."""
        keys: dict[str, tuple[str, str | None]] = {}
        for key in (*SYSTEM_FIELDS, *self.header):
            keys[key.upper()] = (key, None)
        for parent, children in (*self.subheaders.items(), *self.entities.items()):
            keys[parent.upper()] = (parent, None)
            for child in children:
                keys.setdefault(child.upper(), (child, parent))
        return keys


_INVOICE_HEADER = (
    "FBillNo",
    "FBillTypeID",
    "FDOCUMENTSTATUS",
    "FDATE",
    "FSETTLEORGID",
    "FSALEORGID",
    "FCUSTOMERID",
    "FINVOICETITLE",
    "FTAXREGISTERCODE",
    "FCURRENCYID",
    "FIVCODE",
    "FIVNUMBER",
    "FINVOICENO",
    "FINVOICEDATE",
    "FRedBlue",
    "FINFOTABLENUMBER",
    "FCHECKCODE",
    "FCancelStatus",
    "FOPENBANKNAME",
    "FBANKCODE",
    "FTEL",
    "FADDRESS",
    "FISTAX",
    "FHEADAUXPRICEFOR",
    "FTAXAMOUNTFOR",
    "FAFTERTOTALTAXFOR",
    "FHEADAUXPRICE",
    "FTAXAMOUNT",
    "FAFTERTOTALTAX",
    "FOPENSTATUS",
)
_INVOICE_ENTRY = (
    "FEntryID",
    "FMATERIALID",
    "FMATERIALNAME",
    "FMaterialDesc",
    "FMODEL",
    "FBASICUNITID",
    "FPRICEUNITID",
    "FPRICEQTY",
    "FBASICUNITQTY",
    "FAUXPRICE",
    "FAUXTAXPRICE",
    "FTAXRATE",
    "FAMOUNTFOR",
    "FDETAILTAXAMOUNTFOR",
    "FALLAMOUNTFOR",
    "FNOTAXAMOUNT",
    "FDETAILTAXAMOUNT",
    "FALLAMOUNT",
    "FENTRYDISCOUNTRATE",
    "FDISCOUNTAMOUNTFOR",
    "FSALESORDERNO",
    "FSRCBILLTYPEID",
    "FSRCBILLNO",
    "FSRCBILLID",
    "FSRCROWID",
    "FSRCSEQ",
    "FOPENSTATUS_D",
    "FOPENAMOUNTFOR_D",
    "FNOTOPENAMOUNTFOR_D",
    "FHOOKSTATUS",
    "FHOOKAMOUNTFOR",
    "FCustMatID",
    "FCustMatName",
    "FCOMMENT",
)
_INVOICE_REQUIRED = {
    "FBillTypeID": "单据类型",
    "FDATE": "业务日期",
    "FSETTLEORGID": "结算组织",
    "FCUSTOMERID": "客户",
    "FCURRENCYID": "币别",
}


def _invoice(form_id: str, label: str, prefix: str) -> FormSpec:
    return FormSpec(
        form_id=form_id,
        label=label,
        number_prefix=prefix,
        status_key="FDOCUMENTSTATUS",
        date_key="FDATE",
        header=_INVOICE_HEADER,
        subheaders={},
        entities={"FSALESICENTRY": _INVOICE_ENTRY},
        main_entity="FSALESICENTRY",
        required=_INVOICE_REQUIRED,
        entry_required={"FMATERIALID": "物料编码"},
        labels={"FSALESICENTRY": "明细"},
    )


RECEIVABLE = FormSpec(
    form_id="AR_receivable",
    label="应收单",
    number_prefix="AR",
    status_key="FDOCUMENTSTATUS",
    date_key="FDATE",
    header=(
        "FBillNo",
        "FBillTypeID",
        "FDATE",
        "FISINIT",
        "FENDDATE_H",
        "FCUSTOMERID",
        "FCURRENCYID",
        "FPayConditon",
        "FISPRICEEXCLUDETAX",
        "FSETTLEORGID",
        "FPAYORGID",
        "FSALEORGID",
        "FSALEDEPTID",
        "FSALEERID",
        "FISTAX",
        "FCancelStatus",
        "FBUSINESSTYPE",
        "FSetAccountType",
        "FISHookMatch",
        "FISINVOICEARLIER",
        "FAR_Remark",
        "FDOCUMENTSTATUS",
        "FALLAMOUNTFOR",
    ),
    subheaders={
        "FsubHeadSuppiler": ("FORDERID", "FTRANSFERID", "FChargeId"),
        "FsubHeadFinc": (
            "FACCNTTIMEJUDGETIME",
            "FSettleTypeID",
            "FMAINBOOKSTDCURRID",
            "FEXCHANGETYPE",
            "FExchangeRate",
            "FTaxAmountFor",
            "FNoTaxAmountFor",
        ),
    },
    entities={
        "FEntityDetail": (
            "FEntryID",
            "FMATERIALID",
            "FMaterialDesc",
            "FPRICEUNITID",
            "FPriceQty",
            "FTaxPrice",
            "FPrice",
            "FEntryTaxRate",
            "FNoTaxAmountFor_D",
            "FTAXAMOUNTFOR_D",
            "FALLAMOUNTFOR_D",
            "FIsFree",
            "FSalUnitId",
            "FStockUnitId",
            "FSRCBILLTYPEID",
            "FSRCBILLNO",
            "FORDERNUMBER",
            "FOPENAMOUNTFOR",
            "FIVALLAMOUNTFOR",
        ),
        "FEntityPlan": ("FEntryID", "FENDDATE", "FPAYRATE", "FPAYAMOUNTFOR"),
    },
    main_entity="FEntityDetail",
    required={
        "FBillTypeID": "单据类型",
        "FDATE": "业务日期",
        "FENDDATE_H": "到期日",
        "FCUSTOMERID": "客户",
        "FCURRENCYID": "币别",
        "FSETTLEORGID": "结算组织",
    },
    entry_required={},
    labels={"FEntityDetail": "明细", "FEntityPlan": "收款计划"},
)

SALE_ORDER = FormSpec(
    form_id="SAL_SaleOrder",
    label="销售订单",
    number_prefix="XSDD",
    status_key="FDocumentStatus",
    date_key="FDate",
    header=(
        "FBillNo",
        "FBillTypeID",
        "FDate",
        "FDocumentStatus",
        "FCancelStatus",
        "FCustId",
        "FSaleOrgId",
        "FSaleDeptId",
        "FSalerId",
        "FLocalCurrId",
        "FNote",
    ),
    subheaders={},
    entities={
        "FSaleOrderEntry": (
            "FEntryID",
            "FSeq",
            "FMaterialId",
            "FMaterialName",
            "FQty",
            "FUnitId",
            "FPrice",
            "FTaxPrice",
            "FEntryTaxRate",
            "FAmount",
            "FTaxAmount",
            "FAllAmount",
            "FDeliveryDate",
        )
    },
    main_entity="FSaleOrderEntry",
    required={"FDate": "日期", "FCustId": "客户", "FSaleOrgId": "销售组织"},
    entry_required={"FMaterialId": "物料编码", "FQty": "销售数量"},
    labels={"FSaleOrderEntry": "订单明细"},
)

FORMS: Mapping[str, FormSpec] = {
    spec.form_id.upper(): spec
    for spec in (
        _invoice("IV_SALESIC", "销售增值税专用发票", "XSZP"),
        _invoice("IV_SALESOC", "销售增值税普通发票", "XSPP"),
        RECEIVABLE,
        SALE_ORDER,
    )
}


def find_form(form_id: str) -> FormSpec | None:
    """Form ids are case-insensitive (`AR_receivable`, `AR_RECEIVABLE`)."""
    return FORMS.get(form_id.strip().upper())
