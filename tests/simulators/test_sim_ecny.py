"""The e-CNY operator simulator speaks the §2.3 contract: orders, answers, queries, signatures."""

from __future__ import annotations

import base64
import contextlib
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from tongsuopy.crypto import hashes, serialization
from tongsuopy.crypto.asymciphers import ec

from simulators import runner
from simulators.common.clock import CST
from simulators.ecny import create_app
from simulators.ecny.crypto import KeyPair, PublicKey, sign_headers, signing_string
from simulators.erp.dataset import generate_companies
from simulators.runner import running_simulators
from tests.simulators.conftest import asgi_client

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=CST)
PAYMENTS = "/ecny/v1/payments"
NOTIFY_URL = "http://127.0.0.1:9/hub/ecny-notify"  # nothing listens: notifies are not the point
QA_MD = Path(__file__).parents[2] / "simulators" / "ecny" / "QA.md"
QA_EXAMPLE = re.search(r"```yaml\n(.*?)```", QA_MD.read_text(encoding="utf-8"), re.S)[1]  # type: ignore[index]


@dataclass
class Sim:
    """A simulator in-process, with the hub's key (from /admin/keys) and its wallets."""

    app: Any
    client: httpx.AsyncClient
    keys: KeyPair
    operator: PublicKey
    wallets: list[dict[str, Any]]

    @property
    def factor(self) -> dict[str, Any]:
        return self.wallets[0]

    @property
    def seller(self) -> dict[str, Any]:
        return next(w for w in self.wallets if w["role"] == "seller")

    def order(self, **changes: Any) -> dict[str, Any]:
        body = {
            "msgId": "20261128" + "0" * 23 + "1",
            "outTradeNo": "DSB-0001",
            "payerWalletId": self.factor["wallet_id"],
            "payerWalletType": "WT09",
            "payeeWalletId": self.seller["wallet_id"],
            "payeeName": self.seller["name"],
            "payeeWalletType": "WT09",
            "amount": "1285.50",
            "ccy": "CNY",
            "bizTp": "C201",
            "purpose": "保理融资放款",
            "expireTime": "2026-11-28T18:00:00+08:00",
            "notifyUrl": NOTIFY_URL,
        }
        return {**body, **changes}

    async def pay(self, body: dict[str, Any] | bytes, **headers: str) -> httpx.Response:
        raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        signed = self.sign("POST", PAYMENTS, raw)
        return await self.client.post(PAYMENTS, content=raw, headers={**signed, **headers})

    async def query(self, out_trade_no: str) -> httpx.Response:
        path = f"{PAYMENTS}/{out_trade_no}"
        return await self.client.get(path, headers=self.sign("GET", path, b""))

    def sign(self, method: str, path: str, body: bytes) -> dict[str, str]:
        stamp = int(NOW.timestamp())
        return sign_headers(
            self.keys, app_id="factorhub", method=method, path=path, body=body, timestamp=stamp
        )

    async def state(self) -> dict[str, Any]:
        return (await self.client.get("/admin/state")).json()

    async def scenario(self, **section: Any) -> httpx.Response:
        return await self.client.post("/admin/scenario", json=section)


@contextlib.asynccontextmanager
async def simulator(seed: int = 1) -> AsyncIterator[Sim]:
    app = create_app(seed, clock=lambda: NOW)
    try:
        async with asgi_client(app) as client:
            keys = (await client.get("/admin/keys")).json()
            wallets = (await client.get("/admin/state")).json()["wallets"]
            await client.put("/admin/notify", json={"max_attempts": 1})  # nobody listens
            yield Sim(
                app,
                client,
                KeyPair.from_pem(keys["callers"][0]["private_key_pem"]),
                PublicKey.from_pem(keys["operator"]["public_key_pem"]),
                wallets,
            )
    finally:
        await app.state.ecny.aclose()


def assert_signed_by(operator: PublicKey, answer: httpx.Response, method: str, path: str) -> None:
    message = signing_string(
        method,
        path,
        answer.headers["X-Ecny-Timestamp"],
        answer.headers["X-Ecny-Nonce"],
        answer.content,
    )
    assert answer.headers["X-Ecny-SignSN"] == operator.sign_sn
    operator.verify(answer.headers["X-Ecny-Signature"], message)


def balance(state: dict[str, Any], wallet_id: str) -> str:
    return next(w["balance"] for w in state["wallets"] if w["wallet_id"] == wallet_id)


class TestPaymentOrder:
    async def test_an_order_is_accepted_pending_and_settles_with_the_money_moved_once(self):
        async with simulator() as sim:
            answer = await sim.pay(sim.order())
            assert answer.status_code == 200
            body = answer.json()
            assert {k: body[k] for k in ("code", "prcSts", "rjctCd", "outTradeNo", "amount")} == {
                "code": "ACCEPTED",
                "prcSts": "PR02",
                "rjctCd": "",
                "outTradeNo": "DSB-0001",
                "amount": "1285.50",
            }
            assert body["ecnyTxId"].startswith("DC20261128")
            assert_signed_by(sim.operator, answer, "POST", PAYMENTS)
            await sim.app.state.ecny.drain()
            state = await sim.state()
            [order] = state["orders"]
            assert (order["prc_sts"], order["history"]) == ("PR00", ["PR02", "PR00"])
            assert (order["submissions"], order["executions"]) == (1, 1)
            assert balance(state, sim.factor["wallet_id"]) == "99998714.50"
            assert balance(state, sim.seller["wallet_id"]) == "1285.50"

    async def test_a_resend_answers_the_first_result_and_never_pays_twice(self):
        async with simulator() as sim:
            first = (await sim.pay(sim.order())).json()
            again = (await sim.pay(sim.order())).json()
            new_msg_id = (await sim.pay(sim.order(msgId="20261128" + "0" * 23 + "2"))).json()
            assert (again["code"], new_msg_id["code"]) == ("DUPLICATE", "DUPLICATE")
            assert again["ecnyTxId"] == new_msg_id["ecnyTxId"] == first["ecnyTxId"]
            assert new_msg_id["msgId"] == first["msgId"]
            await sim.app.state.ecny.drain()
            state = await sim.state()
            [order] = state["orders"]
            assert (order["submissions"], order["executions"], state["executed_total"]) == (3, 1, 1)
            assert balance(state, sim.seller["wallet_id"]) == "1285.50"

    @pytest.mark.parametrize(
        ("changes", "info"),
        [
            ({"amount": "1285.51", "msgId": "20261128" + "0" * 23 + "2"}, "交易要素不一致"),
            ({"outTradeNo": "DSB-0002"}, "已用于 outTradeNo DSB-0001"),
        ],
    )
    async def test_an_id_reused_for_another_payment_is_refused_and_the_first_stands(
        self, changes, info
    ):
        async with simulator() as sim:
            await sim.pay(sim.order())
            conflict = await sim.pay(sim.order(**changes))
            assert conflict.status_code == 409
            assert conflict.json()["rjctCd"] == "R007"
            assert info in conflict.json()["rjctInf"]
            await sim.app.state.ecny.drain()
            [order] = (await sim.state())["orders"]
            assert (order["amount"], order["executions"]) == ("1285.50", 1)

    async def test_a_lost_answer_has_still_paid_once_and_the_query_tells_the_truth(self):
        async with simulator() as sim:
            await sim.client.put("/admin/faults", json={"lose_answer_rate": 1, "paths": [PAYMENTS]})
            lost = await sim.pay(sim.order())
            assert (lost.status_code, lost.content) == (504, b"")
            await sim.app.state.ecny.drain()
            await sim.client.put("/admin/faults", json={})
            truth = await sim.query("DSB-0001")
            assert (truth.json()["prcSts"], truth.json()["prcCd"]) == ("PR00", "DCEPI0000")
            assert (await sim.pay(sim.order())).json()["code"] == "DUPLICATE"
            assert (await sim.state())["executed_total"] == 1

    @pytest.mark.parametrize(
        ("wallet", "order", "code", "info"),
        [
            ({"balance": "1000.00"}, {}, "R999", "余额不足"),
            ({"frozen": True}, {}, "R999", "付款钱包已冻结"),
            ({}, {"payeeWalletId": "9999999999999999"}, "R021", "收款钱包不存在"),
            ({}, {"payeeName": "别的公司有限公司"}, "R999", "户名不符"),
            ({}, {"payerWalletType": "WT10"}, "R007", "钱包类型"),
            ({}, {"expireTime": "2026-11-28 09:00:00"}, "R007", "已过期"),
        ],
    )
    async def test_a_wallet_problem_is_rejected_at_once_and_pays_nothing(
        self, wallet, order, code, info
    ):
        async with simulator() as sim:
            wallets = [{"wallet_id": sim.factor["wallet_id"], **wallet}]
            assert (await sim.scenario(wallets=wallets)).status_code == 200
            answer = await sim.pay(sim.order(**order))
            body = answer.json()
            assert (answer.status_code, body["code"], body["prcSts"]) == (200, "REJECTED", "PR01")
            assert body["rjctCd"] == code
            assert info in body["rjctInf"]
            again = (await sim.pay(sim.order(**order))).json()
            assert (again["code"], again["prcSts"]) == ("DUPLICATE", "PR01")
            await sim.app.state.ecny.drain()
            state = await sim.state()
            assert state["executed_total"] == 0
            assert state["notifies"] == []

    async def test_open_payees_accepts_a_wallet_the_simulator_did_not_know(self):
        async with simulator() as sim:
            await sim.scenario(open_payees=True)
            answer = await sim.pay(sim.order(payeeWalletId="0031000012345678"))
            assert answer.json()["code"] == "ACCEPTED"


class TestOrderFormat:
    @pytest.mark.parametrize(
        ("raw", "code", "field"),
        [
            (b"<xml/>", "R005", "JSON"),
            (b"[1, 2]", "R005", "object"),
            ("drop:payeeName", "R006", "payeeName"),
            ({"outTradeNo": "D" * 33}, "R008", "outTradeNo"),
            ({"amount": 1285.5}, "R007", "amount"),
            ({"amount": "1285.5"}, "R007", "amount"),
            ({"amount": "0.00"}, "R007", "amount"),
            ({"msgId": "123"}, "R007", "msgId"),
            ({"ccy": "USD"}, "R007", "ccy"),
            ({"notifyUrl": "ftp://hub"}, "R007", "notifyUrl"),
            ({"expireTime": "2026-11-28T18:00:00"}, "R007", "expireTime"),
        ],
    )
    async def test_a_bad_body_is_refused_with_its_reject_code_and_nothing_recorded(
        self, raw, code, field
    ):
        async with simulator() as sim:
            if isinstance(raw, dict):
                body: dict[str, Any] | bytes = sim.order(**raw)
            elif isinstance(raw, str):
                body = {k: v for k, v in sim.order().items() if k != raw.split(":")[1]}
            else:
                body = raw
            answer = await sim.pay(body)
            assert answer.status_code == 400
            assert answer.json()["code"] == "REJECTED"
            assert answer.json()["rjctCd"] == code
            assert field in answer.json()["rjctInf"]
            assert_signed_by(sim.operator, answer, "POST", PAYMENTS)
            state = await sim.state()
            assert state["orders"] == []
            assert state["refused_requests"] == {code: 1}

    async def test_the_most_basic_code_wins_and_every_field_at_fault_is_listed(self):
        async with simulator() as sim:
            body = {k: v for k, v in sim.order(ccy="USD").items() if k != "amount"}
            answer = (await sim.pay(body)).json()
            assert answer["rjctCd"] == "R006"
            assert "amount" in answer["rjctInf"]
            assert "ccy" in answer["rjctInf"]

    async def test_sub_wallet_and_contract_are_kept_with_the_order(self):
        async with simulator() as sim:
            extras = {
                "subWallet": {
                    "pushId": "PUSH-1",
                    "limitAmt": "1285.50",
                    "validUntil": "2026-12-31T23:59:59+08:00",
                },
                "contract": {
                    "templateId": "TPL-9",
                    "releaseCondition": "验收单确认",
                    "lockUntil": "20261210000000",
                },
            }
            assert (await sim.pay(sim.order(**extras))).json()["code"] == "ACCEPTED"
            [order] = (await sim.state())["orders"]
            assert order["subWallet"]["pushId"] == "PUSH-1"
            assert order["contract"]["lockUntil"] == "20261210000000"


class TestQuery:
    async def test_an_unknown_order_is_a_404_with_the_reject_envelope(self):
        async with simulator() as sim:
            answer = await sim.query("NOPE-1")
            assert answer.status_code == 404
            assert answer.json()["rjctCd"] == "R007"
            assert "不存在" in answer.json()["rjctInf"]
            assert_signed_by(sim.operator, answer, "GET", f"{PAYMENTS}/NOPE-1")

    async def test_an_order_stays_pending_until_its_settle_delay_has_passed(self):
        async with simulator() as sim:
            await sim.scenario(settle_delay_ms=100)
            await sim.pay(sim.order())
            pending = (await sim.query("DSB-0001")).json()
            assert (pending["prcSts"], pending["finishTime"]) == ("PR02", None)
            await sim.app.state.ecny.drain()
            final = await sim.query("DSB-0001")
            assert final.json()["prcSts"] == "PR00"
            assert final.json()["finishTime"] == "2026-11-28T09:30:00+08:00"
            assert_signed_by(sim.operator, final, "GET", f"{PAYMENTS}/DSB-0001")


class TestSignatures:
    @pytest.mark.parametrize(
        ("tamper", "info"),
        [
            ({"X-Ecny-Signature": ""}, "X-Ecny-Signature"),
            ({"X-Ecny-Signature": "bm90IGEgc2lnbmF0dXJl"}, "验签失败"),
            ({"X-Ecny-Signature": "%%%"}, "验签失败"),
            ({"X-Ecny-AppId": "stranger"}, "未登记"),
            ({"X-Ecny-SignSN": "00000000DEADBEEF"}, "证书序列号"),
            ({"X-Ecny-Timestamp": str(int(NOW.timestamp()) - 301)}, "时间戳"),
            ({"X-Ecny-Timestamp": "yesterday"}, "时间戳"),
        ],
    )
    async def test_a_wrong_or_missing_signature_is_refused_r004_and_pays_nothing(
        self, tamper, info
    ):
        async with simulator() as sim:
            answer = await sim.pay(sim.order(), **tamper)
            assert answer.status_code == 401
            body = answer.json()
            assert (body["code"], body["prcSts"], body["rjctCd"]) == ("REJECTED", "PR01", "R004")
            assert info in body["rjctInf"]
            state = await sim.state()
            assert (state["orders"], state["refused_requests"]) == ([], {"R004": 1})

    async def test_a_clock_skew_inside_the_window_is_accepted(self):
        async with simulator() as sim:
            raw = json.dumps(sim.order()).encode()
            skewed = int((NOW + timedelta(seconds=299)).timestamp())
            headers = sign_headers(
                sim.keys,
                app_id="factorhub",
                method="POST",
                path=PAYMENTS,
                body=raw,
                timestamp=skewed,
            )
            answer = await sim.client.post(PAYMENTS, content=raw, headers=headers)
            assert answer.json()["code"] == "ACCEPTED"

    async def test_a_body_changed_after_signing_does_not_verify(self):
        async with simulator() as sim:
            raw = json.dumps(sim.order()).encode()
            headers = sim.sign("POST", PAYMENTS, raw)
            tampered = raw.replace(b"1285.50", b"9285.50")
            answer = await sim.client.post(PAYMENTS, content=tampered, headers=headers)
            assert (answer.status_code, answer.json()["rjctCd"]) == (401, "R004")

    async def test_a_replayed_nonce_is_refused(self):
        async with simulator() as sim:
            raw = json.dumps(sim.order()).encode()
            headers = sim.sign("POST", PAYMENTS, raw)
            assert (await sim.client.post(PAYMENTS, content=raw, headers=headers)).is_success
            replay = await sim.client.post(PAYMENTS, content=raw, headers=headers)
            assert replay.status_code == 401
            assert "Nonce" in replay.json()["rjctInf"]

    async def test_a_signature_by_another_key_under_the_callers_serial_does_not_verify(self):
        async with simulator() as sim:
            other = KeyPair.derive("someone-else")
            sim.keys = KeyPair(other.private, PublicKey(other.public.key, sim.keys.public.sign_sn))
            answer = await sim.pay(sim.order())
            assert (answer.status_code, answer.json()["rjctCd"]) == (401, "R004")
            assert "验签失败" in answer.json()["rjctInf"]

    async def test_a_caller_key_loaded_as_pem_from_the_scenario_verifies(self):
        private = ec.generate_private_key(ec.SM2())
        pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        async with simulator() as sim:
            callers = [{"app_id": "factorhub", "public_key_pem": pem.decode(), "sign_sn": "CFCA01"}]
            assert (await sim.scenario(callers=callers)).status_code == 200
            refused = await sim.pay(sim.order())  # still signing with the seed's key
            assert refused.status_code == 401
            sim.keys = KeyPair(private, PublicKey(private.public_key(), "CFCA01"))
            assert (await sim.pay(sim.order())).json()["code"] == "ACCEPTED"

    async def test_verification_is_on_by_default_and_only_a_scenario_switches_it_off(self):
        async with simulator() as sim:
            raw = json.dumps(sim.order()).encode()
            unsigned = await sim.client.post(PAYMENTS, content=raw)
            assert (unsigned.status_code, unsigned.json()["rjctCd"]) == (401, "R004")
            assert "X-Ecny-AppId" in unsigned.json()["rjctInf"]
            await sim.scenario(verify_signatures=False)
            accepted = await sim.client.post(PAYMENTS, content=raw)
            assert accepted.json()["code"] == "ACCEPTED"
            assert_signed_by(sim.operator, accepted, "POST", PAYMENTS)  # answers stay signed
            await sim.client.post("/admin/reset")
            assert (await sim.client.post(PAYMENTS, content=raw)).status_code == 401

    async def test_answers_are_standard_sm2_with_sm3_and_the_default_signer_id(self):
        async with simulator() as sim:
            answer = await sim.pay(sim.order())
            message = signing_string(
                "POST",
                PAYMENTS,
                answer.headers["X-Ecny-Timestamp"],
                answer.headers["X-Ecny-Nonce"],
                answer.content,
            )
            numbers = sim.operator.key.public_numbers()
            signature = base64.b64decode(answer.headers["X-Ecny-Signature"])
            assert _sm2_verifies((numbers.x, numbers.y), signature, message)
            assert not _sm2_verifies((numbers.x, numbers.y), signature, message + b" ")


class TestScenarioAndSeed:
    async def test_the_same_seed_gives_the_same_wallets_keys_and_ids(self):
        seen = []
        for seed in (5, 5, 6):
            async with simulator(seed) as sim:
                keys = (await sim.client.get("/admin/keys")).json()
                tx = (await sim.pay(sim.order())).json()["ecnyTxId"]
                seen.append((sim.wallets, keys["operator"], keys["callers"], tx))
        assert seen[0] == seen[1]
        assert seen[0][0] != seen[2][0]
        assert seen[0][1] != seen[2][1]
        assert seen[0][3] != seen[2][3]

    async def test_the_wallets_belong_to_the_companies_of_the_shared_dataset(self):
        async with simulator(3) as sim:
            sellers = [w for w in sim.wallets if w["role"] == "seller"]
        companies = generate_companies(3)
        assert [(w["name"], w["uscc"]) for w in sellers] == [
            (c.name, c.uscc) for c in companies.sellers
        ]
        assert all(len(w["wallet_id"]) == 16 for w in sim.wallets)

    @pytest.mark.parametrize(
        ("section", "field"),
        [
            ({"wallets": [{"wallet_id": "1", "balance": "12.5"}]}, "wallets.0.balance"),
            ({"outcomes": [{"prc_sts": "PR00", "corrected_to": "PR01"}]}, "outcomes.0"),
            ({"notify": {"duplicate_rate": 2}}, "notify.duplicate_rate"),
            ({"verify_signature": False}, "verify_signature"),
            ({"callers": [{"app_id": "x", "public_key_pem": "garbage"}]}, "scenario"),
        ],
    )
    async def test_a_bad_scenario_is_refused_naming_the_field_and_changes_nothing(
        self, section, field
    ):
        async with simulator() as sim:
            answer = await sim.scenario(**section)
            assert answer.status_code == 422
            assert answer.json()["errors"][0]["field"].startswith(field)
            assert (await sim.pay(sim.order())).json()["code"] == "ACCEPTED"

    async def test_a_scenario_can_give_the_operator_its_own_key(self):
        private = ec.generate_private_key(ec.SM2())
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        async with simulator() as sim:
            await sim.scenario(operator_private_key_pem=pem)
            answer = await sim.pay(sim.order())
            assert_signed_by(
                PublicKey.from_pem(KeyPair.from_pem(pem).public.pem), answer, "POST", PAYMENTS
            )


# --- an independent SM2 verifier (GM/T 0003), so "SM2 with the default id" is not taken on trust


_P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
_A = _P - 3
_B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
_N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
_G = (
    0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7,
    0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0,
)
Point = tuple[int, int] | None


def _add(p: Point, q: Point) -> Point:
    if p is None or q is None:
        return p or q
    if p[0] == q[0] and (p[1] + q[1]) % _P == 0:
        return None
    if p == q:
        slope = (3 * p[0] * p[0] + _A) * pow(2 * p[1], -1, _P) % _P
    else:
        slope = (q[1] - p[1]) * pow(q[0] - p[0], -1, _P) % _P
    x = (slope * slope - p[0] - q[0]) % _P
    return x, (slope * (p[0] - x) - p[1]) % _P


def _mul(k: int, p: Point) -> Point:
    result: Point = None
    while k:
        if k & 1:
            result = _add(result, p)
        p, k = _add(p, p), k >> 1
    return result


def _sm3(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def _sm2_verifies(public: tuple[int, int], der: bytes, message: bytes) -> bool:
    r_len = der[3]
    r = int.from_bytes(der[4 : 4 + r_len], "big")
    s = int.from_bytes(der[6 + r_len :], "big")
    signer_id = b"1234567812345678"
    z = _sm3(
        (len(signer_id) * 8).to_bytes(2, "big")
        + signer_id
        + b"".join(v.to_bytes(32, "big") for v in (_A, _B, *_G, *public))
    )
    e = int.from_bytes(_sm3(z + message), "big")
    point = _add(_mul(s, _G), _mul((r + s) % _N, public))
    return point is not None and (e + point[0]) % _N == r


def test_the_reference_verifier_knows_the_sm3_test_vector():
    assert _sm3(b"abc").hex().startswith("66c7f0f462eeedd9d1f2d46bdc10e4e2")


# --- notifies: a real hub stand-in on loopback receives them ----------------------------------


@dataclass
class Hub:
    """Records every notify with its headers; answers from `replies`, then SUCCESS."""

    received: list[tuple[dict[str, str], dict[str, Any]]]
    replies: list[tuple[int, dict[str, Any]]]
    url: str = ""

    def bodies(self) -> list[dict[str, Any]]:
        return [body for _, body in self.received]


@contextlib.asynccontextmanager
async def served(sim_seed: int = 1, replies: list[tuple[int, dict[str, Any]]] | None = None):
    """The simulator and a hub stand-in, both real servers on loopback."""
    hub = Hub([], list(replies or []))
    hub_app = FastAPI()

    @hub_app.post("/hub/ecny-notify")
    async def receive(request: Request) -> JSONResponse:
        hub.received.append((dict(request.headers), json.loads(await request.body())))
        status, body = hub.replies.pop(0) if hub.replies else (200, {"code": "SUCCESS"})
        return JSONResponse(body, status)

    sim_app = create_app(sim_seed, clock=lambda: NOW)
    runner.SIMULATORS["ecny-under-test"] = lambda seed: sim_app
    runner.SIMULATORS["hub-under-test"] = lambda seed: hub_app
    try:
        async with running_simulators(["ecny-under-test", "hub-under-test"]) as running:
            hub.url = running["hub-under-test"].base_url + "/hub/ecny-notify"
            base = running["ecny-under-test"].base_url
            async with httpx.AsyncClient(base_url=base) as client:
                keys = (await client.get("/admin/keys")).json()
                wallets = (await client.get("/admin/state")).json()["wallets"]
                await client.put("/admin/notify", json={"retry_ms": 10, "max_retry_ms": 20})
                sim = Sim(
                    sim_app,
                    client,
                    KeyPair.from_pem(keys["callers"][0]["private_key_pem"]),
                    PublicKey.from_pem(keys["operator"]["public_key_pem"]),
                    wallets,
                )
                yield sim, hub
    finally:
        del runner.SIMULATORS["ecny-under-test"], runner.SIMULATORS["hub-under-test"]
        await sim_app.state.ecny.aclose()


class TestNotify:
    async def test_the_final_state_is_notified_signed_by_the_operator(self):
        async with served() as (sim, hub):
            order = (await sim.pay(sim.order(notifyUrl=hub.url))).json()
            await sim.app.state.ecny.drain()
            [(headers, body)] = hub.received
            assert {k: body[k] for k in ("orgnlMsgId", "outTradeNo", "ecnyTxId", "amount")} == {
                "orgnlMsgId": order["msgId"],
                "outTradeNo": "DSB-0001",
                "ecnyTxId": order["ecnyTxId"],
                "amount": "1285.50",
            }
            assert (body["prcSts"], body["prcCd"], body["ccy"]) == ("PR00", "DCEPI0000", "CNY")
            assert body["finishTime"] == "2026-11-28T09:30:00+08:00"
            assert re.fullmatch(r"[0-9]{32}", body["msgId"])
            assert body["msgId"] != order["msgId"]
            message = signing_string(
                "POST",
                "/hub/ecny-notify",
                headers["x-ecny-timestamp"],
                headers["x-ecny-nonce"],
                json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
            )
            sim.operator.verify(headers["x-ecny-signature"], message)
            assert headers["x-ecny-appid"] == "ecny-operator"
            [notify] = (await sim.state())["notifies"]
            assert (notify["acknowledged"], notify["prc_sts"]) == (True, "PR00")

    async def test_a_notify_is_retried_with_the_same_msg_id_until_the_hub_says_success(self):
        replies = [(500, {"code": "ERROR"}), (200, {"code": "FAIL"}), (200, {})]
        async with served(replies=replies) as (sim, hub):
            await sim.pay(sim.order(notifyUrl=hub.url))
            await sim.app.state.ecny.drain()
            assert len({body["msgId"] for body in hub.bodies()}) == 1
            nonces = {headers["x-ecny-nonce"] for headers, _ in hub.received}
            assert len(nonces) == 4  # every attempt is signed afresh
            [notify] = (await sim.state())["notifies"]
            assert [a["status"] for a in notify["attempts"]] == [500, 200, 200, 200]
            assert [a["acknowledged"] for a in notify["attempts"]] == [False, False, False, True]

    async def test_duplicate_and_late_resent_notifies_repeat_the_same_msg_id(self):
        async with served() as (sim, hub):
            await sim.client.put("/admin/notify", json={"retry_ms": 10, "duplicate_rate": 1})
            await sim.pay(sim.order(notifyUrl=hub.url))
            await sim.app.state.ecny.drain()
            assert len(hub.received) == 2
            await sim.client.put("/admin/notify", json={"retry_ms": 10})
            assert (await sim.client.post("/admin/notify/DSB-0001/resend")).json() == {"ok": True}
            await sim.app.state.ecny.drain()
            ids = [body["msgId"] for body in hub.bodies()]
            assert len(ids) == 3
            assert len(set(ids)) == 1
            notifies = (await sim.state())["notifies"]
            assert [n.get("resent") for n in notifies] == [None, "true"]
            missing = await sim.client.post("/admin/notify/NOPE/resend")
            assert missing.status_code == 404

    async def test_late_notifies_can_overtake_one_another(self):
        async with served(sim_seed=1) as (sim, hub):
            await sim.client.put("/admin/notify", json={"reorder_ms": 3000})  # >> a pay
            sent = []
            for n in range(1, 6):
                number = f"DSB-000{n}"
                msg_id = "20261128" + "0" * 23 + str(n)
                await sim.pay(sim.order(outTradeNo=number, msgId=msg_id, notifyUrl=hub.url))
                sent.append(number)
            await sim.app.state.ecny.drain()
            arrived = [body["outTradeNo"] for body in hub.bodies()]
            assert sorted(arrived) == sent
            assert arrived != sent

    async def test_a_presumed_success_is_corrected_by_reconciliation_and_notified_again(self):
        async with served() as (sim, hub):
            rule = {"out_trade_no": "DSB-0001", "prc_sts": "PR03", "corrected_to": "PR01"}
            await sim.scenario(outcomes=[rule])
            await sim.pay(sim.order(notifyUrl=hub.url))
            await sim.app.state.ecny.drain()
            assert (await sim.query("DSB-0001")).json()["prcSts"] == "PR03"
            corrected = (await sim.client.post("/admin/reconcile")).json()["corrected"]
            assert [o["history"] for o in corrected] == [["PR02", "PR03", "PR01"]]
            await sim.app.state.ecny.drain()
            assert [b["prcSts"] for b in hub.bodies()] == ["PR03", "PR01"]
            assert hub.bodies()[0]["msgId"] != hub.bodies()[1]["msgId"]
            assert hub.bodies()[1]["rjctCd"] == "R999"
            state = await sim.state()
            assert state["executed_total"] == 0  # the truth was a failure: no money moved
            assert balance(state, sim.seller["wallet_id"]) == "0.00"

    async def test_a_presumed_failure_that_really_paid_has_moved_the_money_once(self):
        async with served() as (sim, hub):
            rule = {"prc_sts": "PR04", "corrected_to": "PR00"}
            await sim.scenario(default_outcome=rule)
            await sim.pay(sim.order(notifyUrl=hub.url))
            await sim.app.state.ecny.drain()
            await sim.client.post("/admin/reconcile")
            await sim.app.state.ecny.drain()
            assert [b["prcSts"] for b in hub.bodies()] == ["PR04", "PR00"]
            assert (await sim.state())["executed_total"] == 1
            assert (await sim.client.post("/admin/reconcile")).json() == {"corrected": []}

    async def test_a_failed_outcome_is_notified_pr01_with_the_scenario_reason(self):
        async with served() as (sim, hub):
            rule = {
                "amount": "1285.50",
                "prc_sts": "PR01",
                "rjct_cd": "R999",
                "rjct_inf": "风控拦截",
            }
            await sim.scenario(outcomes=[rule])
            await sim.pay(sim.order(notifyUrl=hub.url))
            await sim.app.state.ecny.drain()
            [body] = hub.bodies()
            assert (body["prcSts"], body["rjctCd"], body["rjctInf"]) == ("PR01", "R999", "风控拦截")
            assert (await sim.state())["executed_total"] == 0

    async def test_a_scenario_yaml_section_sets_everything_at_once(self):
        section = yaml.safe_load(QA_EXAMPLE)["ecny"]
        async with simulator() as sim:
            answer = await sim.scenario(**section)
            assert answer.status_code == 200, answer.text
            notify = (await sim.client.get("/admin/notify")).json()["settings"]
            assert notify["duplicate_rate"] == 0.2
            faults = (await sim.client.get("/admin/faults")).json()
            assert faults["lose_answer_rate"] == 0.1
