"""The bank's core system behind its ESB: a SOAP 1.1 service (WSDL, document/literal wrapped) for
credit lines and payments, executed at most once per InstructionId."""

from simulators.bankcore.app import create_app

__all__ = ["create_app"]
