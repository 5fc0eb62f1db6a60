"""The payment channel a programme's policy chooses (`disbursement_channel`): the whole flow paid
through the bank core's SOAP service or in e-CNY, each application paid exactly once, whatever
the channel loses, repeats or reorders; and a channel without its settings stops the hub."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from canonical import ConfigurationError
from connectors.bank_iso import IsoBankGateway
from connectors.bank_soap import SoapBankGateway
from hub.app import Hub
from hub.config import Settings
from hub.operations import StateCounts
from hub.persistence.tables import DisbursementRow, OutboxRow, RequestRow
from hub.runtime.retry import RetryPolicy
from routes.policy import POLICY_DIR
from simulators.ecny.crypto import OPERATOR_APP_ID, KeyPair, sign_headers
from simulators.erp.dataset import generate_companies, generate_invoices
from simulators.erp.pusher import push_cases
from tests.e2e.stack import SEED, Stack, running_stack

COUNT = 16
NOTIFY = "/v1/ecny/notify"


async def _push(stack: Stack, count: int = COUNT) -> StateCounts:
    cases = generate_invoices(SEED, count, stack.companies, {})
    results = await push_cases(stack.ingress_url, cases, concurrency=4)
    assert all(r.status_code == 202 for r in results)
    return await stack.settle(len(results), timeout_s=25)


async def _used(stack: Stack) -> Decimal:
    """What every seller's facility used, together."""
    total = Decimal("0.00")
    async with stack.hub.units() as uow:
        for seller in stack.companies.sellers:
            facility = await uow.facilities.get(seller.uscc)
            assert facility is not None
            assert facility.reserved.amount == 0  # nothing left held
            total += facility.used.amount
    return total


async def _admin(stack: Stack, name: str, method: str, path: str, **json_body: Any) -> Any:
    async with httpx.AsyncClient(base_url=stack.sims[name].admin_url) as admin:
        answer = await admin.request(method, path, json=json_body or None)
        assert answer.status_code == 200, answer.text
        return answer.json()


async def _instructions(stack: Stack) -> dict[str, str]:
    """Our disbursements: instruction id -> amount."""
    async with httpx.AsyncClient(base_url=stack.ingress_url) as client:
        async with stack.hub.units() as uow:
            ids = (await uow.session.execute(select(RequestRow.id))).scalars().all()
        bodies = [(await client.get(f"/v1/requests/{i}")).json() for i in ids]
    return {
        b["disbursement"]["instruction_id"]: b["disbursement"]["amount"]
        for b in bodies
        if b["disbursement"] is not None
    }


async def _principals(stack: Stack) -> dict[str, Decimal]:
    """Our disbursements: instruction id -> the principal financed (the facility's use; the
    bank pays it less the fee deducted up front)."""
    async with httpx.AsyncClient(base_url=stack.ingress_url) as client:
        async with stack.hub.units() as uow:
            ids = (await uow.session.execute(select(RequestRow.id))).scalars().all()
        bodies = [(await client.get(f"/v1/requests/{i}")).json() for i in ids]
    return {
        b["disbursement"]["instruction_id"]: Decimal(b["disbursement"]["principal"])
        for b in bodies
        if b["disbursement"] is not None
    }


def _financed(principals: dict[str, Decimal], paid: Iterable[str]) -> Decimal:
    return sum((principals[i] for i in paid), Decimal(0))


async def _bankcore_executed(stack: Stack) -> Counter[str]:
    state = await _admin(stack, "bankcore", "GET", "/state")
    return Counter(entry["end_to_end_id"] for entry in state["ledger"])


async def _ecny_orders(stack: Stack) -> dict[str, dict[str, Any]]:
    app: Any = stack.sims["ecny"].app
    await app.state.ecny.drain()  # settlements done, every notify acknowledged or given up
    state = await _admin(stack, "ecny", "GET", "/state")
    return {order["out_trade_no"]: order for order in state["orders"]}


async def _notified(stack: Stack, instruction_id: str) -> dict[str, Any]:
    """The request of an instruction as the ingress shows it."""
    async with stack.hub.units() as uow:
        row = await uow.session.get(DisbursementRow, instruction_id)
        assert row is not None
        request_id = row.request_id
    async with httpx.AsyncClient(base_url=stack.ingress_url) as client:
        return dict((await client.get(f"/v1/requests/{request_id}")).json())


def _signed_notify(stack: Stack, body: dict[str, Any], *, path: str = NOTIFY) -> dict[str, Any]:
    """A notify signed with the simulator's operator key, as the operator would send it."""
    app: Any = stack.sims["ecny"].app
    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    stamp = int(stack.hub.clock().timestamp())
    headers = sign_headers(
        app.state.ecny.keys,
        app_id=OPERATOR_APP_ID,
        method="POST",
        path=path,
        body=raw,
        timestamp=stamp,
    )
    return {"content": raw, "headers": {"content-type": "application/json", **headers}}


# --- (a) the bank core's SOAP service -----------------------------------------------------------


async def test_every_application_paid_through_the_bank_core_is_disbursed_and_paid_once(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async with running_stack(url, channel="soap") as stack:
        assert isinstance(stack.hub.bank_channel.gateway, SoapBankGateway)
        counts = await _push(stack)
        executed = await _bankcore_executed(stack)
        state = await _admin(stack, "bankcore", "GET", "/state")
        instructions = await _instructions(stack)
        principals = await _principals(stack)
        used = await _used(stack)
        iso_ledger = await stack.bank_ledger()
    assert counts.dead_letters == 0
    assert counts.by_state == {"DISBURSED": COUNT}
    assert set(executed) == set(instructions)  # each application paid at the bank core...
    assert set(executed.values()) == {1}  # ...exactly once
    assert all(a["executed"] == 1 for a in state["attempts"])
    paid = {e["end_to_end_id"]: e["amount"] for e in state["ledger"]}
    assert paid == instructions  # the amounts instructed are the amounts paid
    assert used == _financed(principals, paid)
    assert iso_ledger == []  # nothing went through the ISO channel


# --- (d) the bank core's answer lost after it paid ----------------------------------------------


async def test_a_bank_core_answer_lost_after_the_payment_is_asked_about_and_paid_only_once(
    tmp_path,
):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    retry = RetryPolicy(attempts=8, initial=0.05, maximum=0.3)  # a status query may be lost too
    async with running_stack(url, channel="soap", retry=retry) as stack:
        # SubmitPayment and QueryPaymentStatus share the path: both lose some answers
        await _admin(stack, "bankcore", "PUT", "/faults", lose_answer_rate=0.4, seed=5)
        counts = await _push(stack)
        executed = await _bankcore_executed(stack)
        state = await _admin(stack, "bankcore", "GET", "/state")
        injected = (await _admin(stack, "bankcore", "GET", "/faults"))["injected"]
        received = await _admin(stack, "bankcore", "GET", "/received")
        used = await _used(stack)
        principals = await _principals(stack)
    assert injected.get("lose_answer", 0) > 0  # the faults really happened
    asked = [r for r in received if "QueryPaymentStatus" in str(r["body"])]
    assert asked  # after a lost answer the hub asked the core what became of the payment
    assert counts.dead_letters == 0
    assert counts.by_state == {"DISBURSED": COUNT}
    assert len(executed) == COUNT
    assert set(executed.values()) == {1}  # never twice
    assert state["stats"]["max_executions_per_end_to_end_id"] == 1
    assert used == _financed(principals, (e["end_to_end_id"] for e in state["ledger"]))


# --- (b) e-CNY, the final state by the operator's notify ----------------------------------------


async def test_every_application_paid_in_ecny_is_disbursed_when_the_operators_notify_arrives(
    tmp_path,
):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    companies = generate_companies(SEED)  # the sellers the e-CNY simulator has wallets for
    async with running_stack(url, channel="ecny", companies=companies) as stack:
        counts = await _push(stack)
        orders = await _ecny_orders(stack)
        instructions = await _instructions(stack)
        principals = await _principals(stack)
        used = await _used(stack)
        notifies = (await _admin(stack, "ecny", "GET", "/notify"))["notifies"]
        histories = [await _notified(stack, i) for i in instructions]
    assert counts.dead_letters == 0
    assert counts.by_state == {"DISBURSED": COUNT}
    assert set(orders) == set(instructions)
    assert {o["out_trade_no"]: o["amount"] for o in orders.values()} == instructions
    assert [o["executions"] for o in orders.values()] == [1] * COUNT  # each paid exactly once
    assert {o["prc_sts"] for o in orders.values()} == {"PR00"}
    assert used == _financed(principals, instructions)
    # DISBURSED only by the operator's notify (the order's own answer is PR02, pending)...
    assert len(notifies) == COUNT
    assert all(n["acknowledged"] and n["url"].endswith(NOTIFY) for n in notifies)
    for request in histories:
        assert request["disbursement"]["bank_code"] == "PR00"
        tx = orders[request["disbursement"]["instruction_id"]]["ecny_tx_id"]
        assert request["disbursement"]["bank_reference"] == tx


# --- (c) e-CNY notifies duplicated, late and out of order ---------------------------------------


async def test_duplicated_late_and_out_of_order_ecny_notifies_change_nothing(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    companies = generate_companies(SEED)
    async with running_stack(url, channel="ecny", companies=companies) as stack:
        # every notify delivered twice, each one up to 0.4 s late so they overtake each other
        await _admin(stack, "ecny", "PUT", "/notify", duplicate_rate=1, reorder_ms=400)
        counts = await _push(stack)
        orders = await _ecny_orders(stack)
        before = [await _notified(stack, i) for i in orders]
        used = await _used(stack)
        # late duplicates: each order's notify once more, long after (same msgId)
        for out_trade_no in orders:
            await _admin(stack, "ecny", "POST", f"/notify/{out_trade_no}/resend")
        # out of order: a signed PENDING and a signed FAILED notify after the SETTLED one
        first = next(iter(orders.values()))
        stale = {
            "msgId": "2" * 32,
            "orgnlMsgId": first["msg_id"],
            "outTradeNo": first["out_trade_no"],
            "ecnyTxId": first["ecny_tx_id"],
            "prcSts": "PR02",
            "prcCd": "",
            "rjctCd": "",
            "rjctInf": "",
            "amount": first["amount"],
            "ccy": "CNY",
            "finishTime": first["finish_time"],
        }
        failed = {**stale, "msgId": "3" * 32, "prcSts": "PR01", "rjctCd": "R999"}
        other_amount = {**failed, "msgId": "6" * 32, "amount": "1.00"}  # not our instruction's
        async with httpx.AsyncClient(base_url=stack.ingress_url) as client:
            answers = [
                await client.post(NOTIFY, **_signed_notify(stack, body))
                for body in (stale, failed, other_amount)
            ]
        await _ecny_orders(stack)  # the resends are acknowledged
        notifies = (await _admin(stack, "ecny", "GET", "/notify"))["notifies"]
        # our answer to each order, each notify twice and once more resent, the two stale ones
        applier = next(c for c in stack.hub.consumers if c.route.group == "apply-payment-result")
        for _ in range(100):
            if applier.handled >= COUNT * 4 + 2:
                break
            await asyncio.sleep(0.05)
        after_counts = await stack.settle(COUNT)
        after = [await _notified(stack, i) for i in orders]
        used_after = await _used(stack)
        principals = await _principals(stack)
    assert counts.dead_letters == 0
    assert counts.by_state == {"DISBURSED": COUNT}
    assert [o["executions"] for o in orders.values()] == [1] * COUNT
    assert [a.json()["code"] for a in answers] == ["SUCCESS"] * 3
    assert [a.json()["reported"] for a in answers] == [1, 1, 0]  # handed to the flow...
    assert answers[2].json()["mismatched"] == [first["out_trade_no"]]  # (not this one)
    assert after_counts.by_state == {"DISBURSED": COUNT}  # ...which moved nothing
    assert after_counts.dead_letters == 0
    assert after == before  # same states, disbursement rows and histories
    assert used_after == used == _financed(principals, orders)
    assert all(n["acknowledged"] for n in notifies)
    first_round = [n for n in notifies if not n.get("resent")]
    assert all(len(n["attempts"]) >= 2 for n in first_round)  # each delivered twice
    assert sum(1 for n in notifies if n.get("resent")) == COUNT
    assert applier.handled >= COUNT * 4 + 2  # every report reached the flow before `after`


# --- the notify endpoint's contract ---------------------------------------------------------------


async def test_a_notify_not_signed_by_the_operator_is_refused_and_one_not_ours_is_acknowledged(
    tmp_path,
):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async with running_stack(url, channel="ecny") as stack:
        body = {
            "msgId": "4" * 32,
            "orgnlMsgId": "5" * 32,
            "outTradeNo": "DNOTOURS0001",
            "ecnyTxId": "DC202611280000000000000001",
            "prcSts": "PR00",
            "prcCd": "DCEPI0000",
            "rjctCd": "",
            "rjctInf": "",
            "amount": "100.00",
            "ccy": "CNY",
            "finishTime": "2026-11-28T17:05:00+08:00",
        }
        signed = _signed_notify(stack, body)
        tampered = {**signed, "content": signed["content"].replace(b"100.00", b"900.00")}
        unsigned = {"content": signed["content"], "headers": {"content-type": "application/json"}}
        elsewhere = _signed_notify(stack, body, path="/somewhere/else")
        async with httpx.AsyncClient(base_url=stack.ingress_url) as client:
            refused = [
                await client.post(NOTIFY, **attempt) for attempt in (tampered, unsigned, elsewhere)
            ]
            unknown = await client.post(NOTIFY, **signed)
            garbled = await client.post(NOTIFY, **_signed_notify(stack, {"prcSts": "PR00"}))
        async with stack.hub.units() as uow:
            queued = (await uow.session.execute(select(func.count(OutboxRow.id)))).scalar_one()
    assert [r.status_code for r in refused] == [401, 401, 401]
    assert all(r.json()["code"] == "FAIL" for r in refused)
    assert unknown.status_code == 200
    assert unknown.json() == {
        "code": "SUCCESS",
        "msg": "OK",
        "reported": 0,
        "unknown": ["DNOTOURS0001"],
        "mismatched": [],
    }
    assert garbled.status_code == 422
    assert garbled.json()["problems"]
    assert queued == 0  # nothing reached the flow


async def test_a_hub_without_ecny_settings_has_no_notify_endpoint_to_speak_of(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async with running_stack(url) as stack:
        assert isinstance(stack.hub.bank_channel.gateway, IsoBankGateway)
        async with httpx.AsyncClient(base_url=stack.ingress_url) as client:
            answer = await client.post(NOTIFY, content=b"{}")
    assert answer.status_code == 404
    assert answer.json()["code"] == "FAIL"


# --- configuration ------------------------------------------------------------------------------


def _settings(tmp_path: Any, **env: str) -> Settings:
    base = Settings.from_env(env)
    return replace(base, database_url=f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}")


def test_the_ecny_policy_without_ecny_settings_stops_the_hub_naming_each_missing_one(tmp_path):
    settings = _settings(tmp_path, FACTORHUB_POLICY_FILE=str(POLICY_DIR / "ecny.yaml"))
    assert settings.ecny_url is None  # no e-CNY configuration at all is fine by itself
    with pytest.raises(ConfigurationError) as caught:
        Hub(settings)
    for variable in (
        "FACTORHUB_ECNY_URL",
        "FACTORHUB_ECNY_PRIVATE_KEY_FILE",
        "FACTORHUB_ECNY_SIGN_SN",
        "FACTORHUB_ECNY_OPERATOR_KEY_FILE",
        "FACTORHUB_ECNY_PAYER_WALLET",
        "FACTORHUB_ECNY_PAYEE_WALLETS_FILE",
        "FACTORHUB_ECNY_NOTIFY_URL",
    ):
        assert variable in str(caught.value)
    # from the simulator's admin API (QA), only the URLs remain ours to give
    with pytest.raises(ConfigurationError) as caught:
        Hub(replace(settings, ecny_url="http://127.0.0.1:9", ecny_from_simulator=True))
    assert str(caught.value).endswith("FACTORHUB_ECNY_NOTIFY_URL is not set")


def test_the_soap_policy_without_the_bank_core_url_stops_the_hub(tmp_path):
    policy = tmp_path / "soap.yaml"
    policy.write_text("disbursement_channel: soap\n", encoding="utf-8")
    settings = _settings(tmp_path, FACTORHUB_POLICY_FILE=str(policy))
    with pytest.raises(ConfigurationError, match="FACTORHUB_BANKCORE_URL"):
        Hub(settings)
    hub = Hub(replace(settings, bankcore_url="http://127.0.0.1:9"))
    assert isinstance(hub.bank_channel.gateway, SoapBankGateway)
    assert hub.services.bank is hub.bank_channel


def test_the_ecny_settings_come_from_the_environment_and_files(tmp_path):
    ours, operator = KeyPair.derive("test:ours"), KeyPair.derive("test:operator")
    (tmp_path / "ours.pem").write_text(ours.private_pem)
    (tmp_path / "operator.pem").write_text(operator.public.pem)
    (tmp_path / "wallets.json").write_text('{"91320411MAXM9PBC2C": "0031000012345678"}')
    ports = tmp_path / "ports.json"
    ports.write_text(
        json.dumps(
            {
                "bankcore": {"base_url": "http://127.0.0.1:8107"},
                "ecny": {"base_url": "http://127.0.0.1:8109"},
            }
        )
    )
    env = {
        "FACTORHUB_ECNY_URL": "http://ecny.example:8443",
        "FACTORHUB_ECNY_PRIVATE_KEY_FILE": str(tmp_path / "ours.pem"),
        "FACTORHUB_ECNY_SIGN_SN": "4A3F00000000C0DE",
        "FACTORHUB_ECNY_OPERATOR_KEY_FILE": str(tmp_path / "operator.pem"),
        "FACTORHUB_ECNY_PAYER_WALLET": "0031000000000001",
        "FACTORHUB_ECNY_PAYEE_WALLETS_FILE": str(tmp_path / "wallets.json"),
        "FACTORHUB_ECNY_NOTIFY_URL": "https://hub.example/v1/ecny/notify",
        "FACTORHUB_SIMULATORS_FILE": str(ports),
    }
    settings = Settings.from_env(env)
    assert settings.bankcore_url == "http://127.0.0.1:8107"  # from the ports file
    assert settings.ecny_url == "http://ecny.example:8443"  # the variable wins
    assert settings.ecny_from_simulator is False  # a configured operator is not a simulator
    assert settings.ecny_payee_wallets == {"91320411MAXM9PBC2C": "0031000012345678"}
    assert settings.ecny_private_key_pem == ours.private_pem
    assert "PRIVATE" not in repr(settings)
    policy = tmp_path / "ecny.yaml"
    policy.write_text("disbursement_channel: ecny\n")
    database = f"sqlite+aiosqlite:///{tmp_path / 'h.db'}"
    hub = Hub(replace(settings, policy_file=str(policy), database_url=database))
    assert hub.services.policy.disbursement_channel == "ecny"
    assert hub.ecny_notices is not None  # ready before start: nothing to discover
    only_ports = Settings.from_env({"FACTORHUB_SIMULATORS_FILE": str(ports)})
    assert (only_ports.ecny_url, only_ports.ecny_from_simulator) == ("http://127.0.0.1:8109", True)
    (tmp_path / "bad.json").write_text('["not", "a", "directory"]')
    with pytest.raises(ConfigurationError, match="FACTORHUB_ECNY_PAYEE_WALLETS_FILE"):
        Settings.from_env({"FACTORHUB_ECNY_PAYEE_WALLETS_FILE": str(tmp_path / "bad.json")})
    with pytest.raises(ConfigurationError, match="FACTORHUB_ECNY_PRIVATE_KEY_FILE"):
        Settings.from_env({"FACTORHUB_ECNY_PRIVATE_KEY_FILE": str(tmp_path / "missing.pem")})


# --- e-CNY presumed statuses (PR03 推定成功, PR04 推定失败) and the operator's 对账 -----------


async def _reconcile(stack: Stack) -> None:
    await _ecny_orders(stack)  # the first notifies are in
    await _admin(stack, "ecny", "POST", "/reconcile")
    await _ecny_orders(stack)  # the corrections' notifies are in


async def test_a_presumed_failure_stays_pending_until_reconciliation_shows_it_was_paid(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    companies = generate_companies(SEED)
    async with running_stack(url, channel="ecny", companies=companies) as stack:
        outcome = {"prc_sts": "PR04", "corrected_to": "PR00"}
        await _admin(stack, "ecny", "POST", "/scenario", default_outcome=outcome)
        cases = generate_invoices(SEED, 4, stack.companies, {})
        await push_cases(stack.ingress_url, cases, concurrency=4)
        for _ in range(100):  # every order placed and its PR04 notify in
            orders = await _ecny_orders(stack)
            if len(orders) == 4 and all(o["prc_sts"] == "PR04" for o in orders.values()):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.3)  # the notifies' reports applied
        presumed = [await _notified(stack, i) for i in orders]
        await _reconcile(stack)
        counts = await stack.settle(4, timeout_s=10)
        used = await _used(stack)
        principals = await _principals(stack)
    assert {r["state"] for r in presumed} == {"DISBURSING"}  # a presumed failure is not released
    # (PR04 or, when the order's own PR02 answer was applied after the notify, PR02: the flow
    # takes any other pending code as news; both leave the money held)
    assert {r["disbursement"]["status"] for r in presumed} == {"PENDING"}
    assert {r["disbursement"]["bank_code"] for r in presumed} <= {"PR02", "PR04"}
    assert counts.by_state == {"DISBURSED": 4}
    assert [o["executions"] for o in orders.values()] == [1] * 4
    assert used == _financed(principals, orders)


async def test_a_presumed_success_corrected_to_a_failure_at_reconciliation_releases_the_limit(
    tmp_path,
):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    companies = generate_companies(SEED)
    async with running_stack(url, channel="ecny", companies=companies) as stack:
        outcome = {"prc_sts": "PR03", "corrected_to": "PR01"}
        await _admin(stack, "ecny", "POST", "/scenario", default_outcome=outcome)
        cases = generate_invoices(SEED, 4, stack.companies, {})
        await push_cases(stack.ingress_url, cases, concurrency=4)
        await stack.settle(4, timeout_s=10)
        await _reconcile(stack)
        await asyncio.sleep(0.3)
        orders = await _ecny_orders(stack)
        counts = await stack.settle(4, timeout_s=10)
        used = await _used(stack)
    assert [o["executions"] for o in orders.values()] == [0] * 4  # the money never moved
    assert {o["prc_sts"] for o in orders.values()} == {"PR01"}
    assert counts.by_state == {"REJECTED": 4}
    assert used == 0
