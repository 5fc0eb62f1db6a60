"""The bank core's service contract: WSDL 1.1, SOAP 1.1, document/literal wrapped
(formats-outbound.md §1.7), with its XSD in `types`.

Each operation's request element is named after it and its response is `<operation>Response`;
the ESB `SysHead` travels as a literal soap:header; `ServiceFault` is the literal fault detail.
"""

from __future__ import annotations

from functools import cache
from xml.sax.saxutils import quoteattr

from lxml import etree

__all__ = ["NS", "OPERATIONS", "SCHEMA", "request_schema", "wsdl"]

NS = "http://sim.factorhub.cn/bankcore/v1"
OPERATIONS = ("QueryCreditLine", "SubmitPayment", "QueryPaymentStatus")

SCHEMA = f"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:tns="{NS}"
    targetNamespace="{NS}" elementFormDefault="qualified">
  <xs:simpleType name="Max35Text">
    <xs:restriction base="xs:string"><xs:minLength value="1"/><xs:maxLength value="35"/>
    </xs:restriction>
  </xs:simpleType>
  <xs:simpleType name="Max140Text">
    <xs:restriction base="xs:string"><xs:minLength value="1"/><xs:maxLength value="140"/>
    </xs:restriction>
  </xs:simpleType>
  <xs:simpleType name="AccountNumber">
    <xs:restriction base="xs:string"><xs:pattern value="[0-9A-Za-z\\-]{{1,34}}"/></xs:restriction>
  </xs:simpleType>
  <xs:simpleType name="Uscc">
    <xs:restriction base="xs:string"><xs:pattern value="[0-9A-HJ-NPQRTUWXY]{{18}}"/>
    </xs:restriction>
  </xs:simpleType>
  <xs:simpleType name="CnapsCode">
    <xs:restriction base="xs:string"><xs:pattern value="[0-9]{{12}}"/></xs:restriction>
  </xs:simpleType>
  <xs:simpleType name="CurrencyCode">
    <xs:restriction base="xs:string"><xs:pattern value="[A-Z]{{3}}"/></xs:restriction>
  </xs:simpleType>
  <xs:simpleType name="Amount">
    <xs:restriction base="xs:decimal">
      <xs:minExclusive value="0"/><xs:totalDigits value="18"/><xs:fractionDigits value="2"/>
    </xs:restriction>
  </xs:simpleType>
  <xs:simpleType name="Balance">
    <xs:restriction base="xs:decimal">
      <xs:minInclusive value="0"/><xs:totalDigits value="18"/><xs:fractionDigits value="2"/>
    </xs:restriction>
  </xs:simpleType>
  <xs:simpleType name="PaymentStatus">
    <xs:restriction base="xs:string">
      <xs:enumeration value="ACSC"/><xs:enumeration value="RJCT"/>
    </xs:restriction>
  </xs:simpleType>
  <xs:simpleType name="CreditLineStatus">
    <xs:restriction base="xs:string">
      <xs:enumeration value="ACTIVE"/><xs:enumeration value="FROZEN"/>
      <xs:enumeration value="EXPIRED"/>
    </xs:restriction>
  </xs:simpleType>
  <xs:element name="SysHead">
    <xs:complexType><xs:sequence>
      <xs:element name="ConsumerId">
        <xs:simpleType><xs:restriction base="xs:string">
          <xs:minLength value="1"/><xs:maxLength value="10"/>
        </xs:restriction></xs:simpleType>
      </xs:element>
      <xs:element name="ConsumerSeqNo">
        <xs:simpleType><xs:restriction base="xs:string">
          <xs:minLength value="1"/><xs:maxLength value="52"/>
        </xs:restriction></xs:simpleType>
      </xs:element>
      <xs:element name="TranTimestamp" type="xs:dateTime" minOccurs="0"/>
    </xs:sequence></xs:complexType>
  </xs:element>
  <xs:complexType name="CreditLine"><xs:sequence>
    <xs:element name="CreditLineId" type="tns:Max35Text"/>
    <xs:element name="CustomerName" type="tns:Max140Text"/>
    <xs:element name="CustomerUscc" type="tns:Uscc"/>
    <xs:element name="Currency" type="tns:CurrencyCode"/>
    <xs:element name="TotalAmount" type="tns:Balance"/>
    <xs:element name="UsedAmount" type="tns:Balance"/>
    <xs:element name="AvailableAmount" type="tns:Balance"/>
    <xs:element name="ExpiryDate" type="xs:date"/>
    <xs:element name="Status" type="tns:CreditLineStatus"/>
  </xs:sequence></xs:complexType>
  <xs:complexType name="Payment"><xs:sequence>
    <xs:element name="InstructionId" type="tns:Max35Text"/>
    <xs:element name="Status" type="tns:PaymentStatus"/>
    <xs:element name="ReasonCode" type="tns:Max35Text" minOccurs="0"/>
    <xs:element name="ReasonText" type="tns:Max140Text" minOccurs="0"/>
    <xs:element name="BankReference" type="tns:Max35Text"/>
    <xs:element name="Amount" type="tns:Amount"/>
    <xs:element name="Currency" type="tns:CurrencyCode"/>
    <xs:element name="AcceptedAt" type="xs:dateTime" minOccurs="0"/>
    <xs:element name="Duplicate" type="xs:boolean" minOccurs="0"/>
  </xs:sequence></xs:complexType>
  <xs:element name="QueryCreditLine">
    <xs:complexType><xs:sequence>
      <xs:element name="CustomerUscc" type="tns:Uscc" minOccurs="0"/>
      <xs:element name="CreditLineId" type="tns:Max35Text" minOccurs="0"/>
    </xs:sequence></xs:complexType>
  </xs:element>
  <xs:element name="QueryCreditLineResponse">
    <xs:complexType><xs:sequence>
      <xs:element name="CreditLine" type="tns:CreditLine"/>
    </xs:sequence></xs:complexType>
  </xs:element>
  <xs:element name="SubmitPayment">
    <xs:complexType><xs:sequence>
      <xs:element name="InstructionId" type="tns:Max35Text"/>
      <xs:element name="DebtorAccount" type="tns:AccountNumber"/>
      <xs:element name="CreditorAccount" type="tns:AccountNumber"/>
      <xs:element name="CreditorName" type="tns:Max140Text"/>
      <xs:element name="CreditorAgent" type="tns:CnapsCode" minOccurs="0"/>
      <xs:element name="Amount" type="tns:Amount"/>
      <xs:element name="Currency" type="tns:CurrencyCode"/>
      <xs:element name="CreditLineId" type="tns:Max35Text" minOccurs="0"/>
      <xs:element name="Remittance" type="tns:Max140Text" minOccurs="0"/>
    </xs:sequence></xs:complexType>
  </xs:element>
  <xs:element name="SubmitPaymentResponse">
    <xs:complexType><xs:sequence>
      <xs:element name="Payment" type="tns:Payment"/>
    </xs:sequence></xs:complexType>
  </xs:element>
  <xs:element name="QueryPaymentStatus">
    <xs:complexType><xs:sequence>
      <xs:element name="InstructionId" type="tns:Max35Text"/>
    </xs:sequence></xs:complexType>
  </xs:element>
  <xs:element name="QueryPaymentStatusResponse">
    <xs:complexType><xs:sequence>
      <xs:element name="Payment" type="tns:Payment"/>
    </xs:sequence></xs:complexType>
  </xs:element>
  <xs:element name="ServiceFault">
    <xs:complexType><xs:sequence>
      <xs:element name="Code" type="tns:Max35Text"/>
      <xs:element name="Message" type="xs:string"/>
      <xs:element name="Field" type="xs:string" minOccurs="0"/>
    </xs:sequence></xs:complexType>
  </xs:element>
</xs:schema>"""


def _messages() -> str:
    parts = [
        '<wsdl:message name="SysHead"><wsdl:part name="SysHead" element="tns:SysHead"/>'
        "</wsdl:message>",
        '<wsdl:message name="ServiceFault">'
        '<wsdl:part name="fault" element="tns:ServiceFault"/></wsdl:message>',
    ]
    for op in OPERATIONS:
        for suffix, element in (("Request", op), ("Response", f"{op}Response")):
            parts.append(
                f'<wsdl:message name="{op}{suffix}">'
                f'<wsdl:part name="parameters" element="tns:{element}"/></wsdl:message>'
            )
    return "\n  ".join(parts)


def _port_type() -> str:
    operations = "".join(
        f'<wsdl:operation name="{op}"><wsdl:input message="tns:{op}Request"/>'
        f'<wsdl:output message="tns:{op}Response"/>'
        '<wsdl:fault name="ServiceFault" message="tns:ServiceFault"/></wsdl:operation>'
        for op in OPERATIONS
    )
    return f'<wsdl:portType name="BankCorePortType">{operations}</wsdl:portType>'


def _binding() -> str:
    operations = "".join(
        f'<wsdl:operation name="{op}">'
        f'<soap:operation soapAction="{NS}/{op}" style="document"/>'
        '<wsdl:input><soap:header message="tns:SysHead" part="SysHead" use="literal"/>'
        '<soap:body use="literal" parts="parameters"/></wsdl:input>'
        '<wsdl:output><soap:body use="literal"/></wsdl:output>'
        '<wsdl:fault name="ServiceFault"><soap:fault name="ServiceFault" use="literal"/>'
        "</wsdl:fault></wsdl:operation>"
        for op in OPERATIONS
    )
    return (
        '<wsdl:binding name="BankCoreBinding" type="tns:BankCorePortType">'
        '<soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>'
        f"{operations}</wsdl:binding>"
    )


def wsdl(location: str) -> bytes:
    """The WSDL whose soap:address is `location` (the URL it was fetched from, minus ?wsdl)."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions name="BankCore" targetNamespace="{NS}" xmlns:tns="{NS}"
    xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <wsdl:types>
{SCHEMA}
  </wsdl:types>
  {_messages()}
  {_port_type()}
  {_binding()}
  <wsdl:service name="BankCoreService">
    <wsdl:port name="BankCorePort" binding="tns:BankCoreBinding">
      <soap:address location={quoteattr(location)}/>
    </wsdl:port>
  </wsdl:service>
</wsdl:definitions>
""".encode()


@cache
def request_schema() -> etree.XMLSchema:
    """The `types` schema, compiled once, to validate what callers send."""
    return etree.XMLSchema(etree.fromstring(SCHEMA.encode()))
