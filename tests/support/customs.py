"""Export declarations (报关单) as a customs broker sends them: whole DecMessage documents
(formats-inbound §4.1-4.4), built from the field notes like the mapping fixtures, with the
few fields a test varies as parameters."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from xml.sax.saxutils import escape

__all__ = ["Goods", "decmessage"]


@dataclass(frozen=True)
class Goods:
    """One DecList: quantity x DeclPrice = DeclTotal (2 dp), in the declaration's currency."""

    name: str
    hs_code: str
    quantity: str
    price: str

    @property
    def total(self) -> Decimal:
        return (Decimal(self.quantity) * Decimal(self.price)).quantize(Decimal("0.01"))


def decmessage(
    *,
    contract: str,
    exporter_uscc: str,
    exporter_name: str,
    goods: tuple[Goods, ...],
    entry_id: str = "224820260000123456",
    seq_no: str = "000020261118634512",
    ie_flag: str = "E",
    ie_date: str = "20261122",
    currency: str = "CNY",
    trans_mode: str = "3",
    client_seq_no: str = "DEC-20261118-0007",
) -> bytes:
    """A DecMessage of an export under `contract` by `exporter` (境内发货人); an empty
    `entry_id` is a declaration saved but not released yet (its SeqNo is its key)."""
    lines = "".join(
        f"""
    <DecList>
      <GNo>{n}</GNo>
      <CodeTS>{g.hs_code}</CodeTS>
      <GName>{escape(g.name)}</GName>
      <GModel>4|3|{escape(g.name)}</GModel>
      <GQty>{g.quantity}</GQty>
      <GUnit>007</GUnit>
      <DeclPrice>{g.price}</DeclPrice>
      <DeclTotal>{g.total}</DeclTotal>
      <TradeCurr>{currency}</TradeCurr>
      <OriginCountry>CHN</OriginCountry>
      <DestinationCountry>DEU</DestinationCountry>
      <DistrictCode>32059</DistrictCode>
      <DutyMode>1</DutyMode>
    </DecList>"""
        for n, g in enumerate(goods, 1)
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<DecMessage version="3.1" xmlns="http://www.chinaport.gov.cn/dec">
  <DecHead>
    <SeqNo>{seq_no}</SeqNo>
    <PreEntryId>224820261118000345</PreEntryId>
    <EntryId>{entry_id}</EntryId>
    <IEFlag>{ie_flag}</IEFlag>
    <Type></Type>
    <CustomMaster>2248</CustomMaster>
    <IEPort>2248</IEPort>
    <IEDate>{ie_date}</IEDate>
    <PDate>20261118</PDate>
    <ContrNo>{escape(contract)}</ContrNo>
    <ManualNo></ManualNo>
    <TradeCode>3205940123</TradeCode>
    <TradeName>{escape(exporter_name)}</TradeName>
    <TradeCoScc>{exporter_uscc}</TradeCoScc>
    <TradeCiqCode>3200612345</TradeCiqCode>
    <OwnerCode>3205940123</OwnerCode>
    <OwnerName>{escape(exporter_name)}</OwnerName>
    <OwnerCodeScc>{exporter_uscc}</OwnerCodeScc>
    <AgentCode>3122980456</AgentCode>
    <AgentName>上海通关报关服务有限公司</AgentName>
    <AgentCodeScc>91110108MA01R2KP50</AgentCodeScc>
    <OverseasConsigneeCode>DE811234567</OverseasConsigneeCode>
    <OverseasConsigneeEname>Hansa Maschinenbau GmbH</OverseasConsigneeEname>
    <TradeMode>0110</TradeMode>
    <CutMode>101</CutMode>
    <TransMode>{trans_mode}</TransMode>
    <TrafMode>2</TrafMode>
    <TrafName>COSCO SHIPPING ARIES/047W</TrafName>
    <BillNo>COSU6325479001</BillNo>
    <TradeCountry>DEU</TradeCountry>
    <TradeAreaCode>DEU</TradeAreaCode>
    <DistinatePort>DEU072</DistinatePort>
    <DespPortCode>310001</DespPortCode>
    <FeeMark></FeeMark>
    <PackNo>40</PackNo>
    <WrapType>22</WrapType>
    <GrossWet>2150.5</GrossWet>
    <NetWt>1980.25</NetWt>
    <NoteS>合同 {escape(contract)}</NoteS>
    <MarkNo>N/M</MarkNo>
    <EntryType>M</EntryType>
    <EdiId>1</EdiId>
    <DeclTrnRel>0</DeclTrnRel>
    <PromiseItmes>000</PromiseItmes>
  </DecHead>
  <DecLists>{lines}
  </DecLists>
  <DecContainers>
    <Container>
      <ContainerId>CSNU7712399</ContainerId>
      <ContainerMd>22</ContainerMd>
      <ContainerWt>2200</ContainerWt>
    </Container>
  </DecContainers>
  <DecLicenseDocus/>
  <DecFreeTxt>
    <VoyNo>047W</VoyNo>
  </DecFreeTxt>
  <DecSign>
    <OperType>G</OperType>
    <ICCode>2100030012345</ICCode>
    <CopCode>3122980456</CopCode>
    <OperName>王敏</OperName>
    <ClientSeqNo>{client_seq_no}</ClientSeqNo>
    <SignDate>2026111810302500</SignDate>
    <HostId>HOST01</HostId>
  </DecSign>
</DecMessage>
""".encode()
