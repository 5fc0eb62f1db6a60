"""`factorhub reconcile`: our disbursements against the bank's camt.054 bookings.

The comparison by hand first (one case per difference code, amounts in exact fen), then the
statement connector's paging and errors, then end to end against the real bank simulator.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Callable, Sequence
from decimal import Decimal

import httpx
import pytest
import typer
from typer.testing import CliRunner, Result

from canonical import (
    DisbursementInstruction,
    MappingError,
    Money,
    PaymentResult,
    PaymentStatus,
    PermanentError,
    Provenance,
    TransientError,
)
from canonical.payments import (
    AccountNotification,
    DebitCreditNotification,
    EntryDirection,
    EntryStatus,
    EntryTransaction,
    NotificationEntry,
)
from connectors.bank_iso import IsoBankGateway
from connectors.bank_statements import BankStatements
from hub.cli_reconcile import reconcile_command
from hub.persistence import Database, UnitOfWorkFactory
from hub.persistence.tables import DisbursementRow
from hub.reconcile import (
    Booking,
    Difference,
    DifferenceCode,
    booked_debits,
    reconcile,
    run_reconciliation,
)
from mappings.camt054 import canonical_to_camt054
from routes.policy import DEFAULT_FACTOR_ACCOUNT
from simulators.runner import RunningSimulator, running_simulators
from tests.builders import NOW, instruction

ACCOUNT = DEFAULT_FACTOR_ACCOUNT.number
OTHER_ACCOUNT = "6225880137009999"

# --- the comparison, by hand --------------------------------------------------------------


def row(number: int, fen: int, state: str = "SETTLED", currency: str = "CNY") -> DisbursementRow:
    return DisbursementRow(id=f"D{number:08d}", amount_fen=fen, currency=currency, state=state)


def booking(number: int, amount: str, reference: str = "", currency: str = "CNY") -> Booking:
    return Booking(
        end_to_end_id=f"D{number:08d}",
        amount=Money.of(amount, currency),
        entry_reference=reference or str(number),
    )


def codes(differences: Sequence[Difference]) -> list[tuple[str, str]]:
    return [(d.end_to_end_id, d.code.value) for d in differences]


class TestReconcile:
    def test_the_same_payments_on_both_sides_make_no_difference(self):
        ours = [row(1, 36_160_000), row(2, 1)]
        booked = [booking(1, "361600.00"), booking(2, "0.01")]

        assert reconcile(ours, booked) == []

    def test_equal_amounts_written_with_fewer_digits_are_equal(self):
        assert reconcile([row(1, 100_000)], [booking(1, "1000")]) == []

    def test_a_settled_payment_the_bank_never_booked_is_missing_at_bank(self):
        (difference,) = reconcile([row(1, 36_160_000)], [])

        assert difference.code is DifferenceCode.MISSING_AT_BANK
        assert difference.end_to_end_id == "D00000001"
        assert difference.our_amount == Money.of("361600.00")
        assert difference.bank_amount is None
        assert difference.our_state == "SETTLED"

    def test_pending_or_rejected_payments_the_bank_never_booked_are_no_difference(self):
        assert reconcile([row(1, 100, "PENDING"), row(2, 100, "REJECTED")], []) == []

    def test_a_booking_without_an_instruction_of_ours_is_unknown_to_us(self):
        (difference,) = reconcile([], [booking(7, "5000.00", reference="42")])

        assert difference.code is DifferenceCode.UNKNOWN_TO_US
        assert difference.end_to_end_id == "D00000007"
        assert difference.bank_amount == Money.of("5000.00")
        assert difference.our_amount is None
        assert difference.entry_references == ("42",)

    def test_one_fen_less_booked_is_an_amount_mismatch(self):
        (difference,) = reconcile([row(1, 36_160_000)], [booking(1, "361599.99")])

        assert difference.code is DifferenceCode.AMOUNT_MISMATCH
        assert difference.our_amount == Money.of("361600.00")
        assert difference.bank_amount == Money.of("361599.99")
        assert difference.detail == "instructed 361600.00 CNY, booked 361599.99 CNY"

    def test_another_currency_is_a_currency_mismatch_and_not_also_an_amount_one(self):
        (difference,) = reconcile([row(1, 100_000)], [booking(1, "1000.00", currency="USD")])

        assert difference.code is DifferenceCode.CURRENCY_MISMATCH
        assert difference.bank_amount == Money.of("1000.00", "USD")

    def test_one_end_to_end_id_booked_twice_is_a_duplicate_booking(self):
        booked = [booking(1, "1000.00", reference="3"), booking(1, "1000.00", reference="9")]

        (difference,) = reconcile([row(1, 100_000)], booked)

        assert difference.code is DifferenceCode.DUPLICATE_BOOKING
        assert difference.entry_references == ("3", "9")
        assert difference.detail == "booked 2 times"

    def test_a_duplicate_booking_of_another_amount_is_also_an_amount_mismatch(self):
        booked = [booking(1, "1000.00", reference="3"), booking(1, "100.00", reference="9")]

        differences = reconcile([row(1, 100_000)], booked)

        assert codes(differences) == [
            ("D00000001", "DUPLICATE_BOOKING"),
            ("D00000001", "AMOUNT_MISMATCH"),
        ]
        assert differences[1].entry_references == ("9",)

    @pytest.mark.parametrize("state", ["PENDING", "REJECTED"])
    def test_a_booked_payment_we_hold_as_not_settled_is_a_state_mismatch(self, state):
        (difference,) = reconcile([row(1, 100_000, state)], [booking(1, "1000.00")])

        assert difference.code is DifferenceCode.STATE_MISMATCH
        assert difference.our_state == state

    def test_a_payment_unknown_to_us_and_booked_twice_shows_both_bookings(self):
        booked = [booking(5, "10.00", reference="1"), booking(5, "10.00", reference="2")]

        assert [d.code.value for d in reconcile([], booked)] == [
            "DUPLICATE_BOOKING",
            "UNKNOWN_TO_US",
            "UNKNOWN_TO_US",
        ]

    def test_differences_are_listed_by_end_to_end_id(self):
        ours = [row(3, 100), row(1, 100), row(2, 100, "REJECTED")]
        booked = [booking(4, "1.00"), booking(2, "1.00"), booking(1, "1.01")]

        assert codes(reconcile(ours, booked)) == [
            ("D00000001", "AMOUNT_MISMATCH"),
            ("D00000002", "STATE_MISMATCH"),
            ("D00000003", "MISSING_AT_BANK"),
            ("D00000004", "UNKNOWN_TO_US"),
        ]

    def test_our_side_naming_one_id_twice_is_refused(self):
        with pytest.raises(ValueError, match="D00000001"):
            reconcile([row(1, 100), row(1, 100)], [])


# --- reading the bank's bookings ----------------------------------------------------------


def entry(
    reference: str,
    amount: str,
    *ids: str,
    direction: EntryDirection = EntryDirection.DEBIT,
    status: EntryStatus = EntryStatus.BOOKED,
    reversal: bool = False,
    amounts: Sequence[str] = (),
) -> NotificationEntry:
    return NotificationEntry(
        entry_reference=reference,
        amount=Money.of(amount),
        direction=direction,
        reversal=reversal,
        status=status,
        bank_transaction_code="PMNT/ICDT/DMCT",
        transactions=tuple(
            EntryTransaction(end_to_end_id=e2e, amount=Money.of(amounts[n]) if amounts else None)
            for n, e2e in enumerate(ids)
        ),
    )


def notification(
    *entries: NotificationEntry, account: str = ACCOUNT, message_id: str = "N1"
) -> DebitCreditNotification:
    return DebitCreditNotification(
        message_id=message_id,
        created_at=NOW,
        notifications=(
            AccountNotification(
                notification_id=f"{message_id}-1", account_number=account, entries=entries
            ),
        ),
        provenance=Provenance(source_system="camt.054", source_document_id=message_id),
    )


class TestBookedDebits:
    def test_only_booked_outgoing_payments_with_an_end_to_end_id_count(self):
        bookings = booked_debits(
            [
                notification(
                    entry("1", "100.00", "D00000001"),
                    entry("2", "200.00", "D00000002", status=EntryStatus.PENDING),
                    entry("3", "300.00", "R1", direction=EntryDirection.CREDIT),  # a repayment
                    entry("4", "5.00"),  # a fee: no transaction, no EndToEndId
                    entry("5", "6.00", "NOTPROVIDED"),
                )
            ]
        )

        assert [(b.end_to_end_id, b.amount, b.entry_reference) for b in bookings] == [
            ("D00000001", Money.of("100.00"), "1")
        ]

    def test_a_returned_payment_no_longer_stands_booked(self):
        returned = entry("2", "100.00", "D00000001", direction=EntryDirection.CREDIT, reversal=True)

        bookings = booked_debits([notification(entry("1", "100.00", "D00000001"), returned)])

        assert bookings == []

    def test_a_batch_entry_books_each_transaction_with_its_own_amount(self):
        batch = entry("1", "300.00", "D00000001", "D00000002", amounts=("100.00", "200.00"))

        bookings = booked_debits([notification(batch)])

        assert [(b.end_to_end_id, b.amount.amount) for b in bookings] == [
            ("D00000001", Decimal("100.00")),
            ("D00000002", Decimal("200.00")),
        ]

    def test_a_batch_entry_without_transaction_amounts_cannot_be_reconciled(self):
        batch = entry("1", "300.00", "", "D00000001", "D00000002")

        with pytest.raises(MappingError, match="each transaction's amount") as raised:
            booked_debits([notification(batch)])

        assert [p.path for p in raised.value.problems] == [
            "[0].notifications[0].entries[0].transactions[1].amount",
            "[0].notifications[0].entries[0].transactions[2].amount",
        ]


Handler = Callable[[httpx.Request], httpx.Response]


def _client(handler: Handler) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://bank.test")


def _pages(pages: dict[int, bytes], asked: list[int]) -> Handler:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.params["account"] == ACCOUNT
        after = int(request.url.params["after"])
        asked.append(after)
        return httpx.Response(200, content=pages[after])

    return answer


class TestBankStatements:
    async def test_pages_are_read_until_one_brings_no_new_entry(self):
        first = notification(entry("1", "1.00", "D1"), entry("2", "2.00", "D2"), message_id="P1")
        second = notification(entry("5", "5.00", "D5"), message_id="P2")
        pages = {
            0: canonical_to_camt054(first),
            2: canonical_to_camt054(second),
            5: canonical_to_camt054(notification(message_id="P3")),
        }
        asked: list[int] = []

        async with _client(_pages(pages, asked)) as client:
            read = await BankStatements(client).notifications(ACCOUNT)

        assert asked == [0, 2, 5]
        assert [n.message_id for n in read] == ["P1", "P2"]

    async def test_a_bank_that_repeats_an_entry_is_refused_rather_than_read_forever(self):
        again = canonical_to_camt054(notification(entry("2", "1.00", "D1")))
        pages = {0: again, 2: again}

        async with _client(_pages(pages, [])) as client:
            with pytest.raises(PermanentError, match="not a later one"):
                await BankStatements(client).notifications(ACCOUNT)

    async def test_a_statement_of_another_account_is_refused(self):
        pages = {0: canonical_to_camt054(notification(account=OTHER_ACCOUNT))}

        async with _client(_pages(pages, [])) as client:
            with pytest.raises(PermanentError, match=OTHER_ACCOUNT):
                await BankStatements(client).notifications(ACCOUNT)

    async def test_an_unreadable_statement_is_a_permanent_error(self):
        async with _client(lambda _: httpx.Response(200, content=b"<Document/>")) as client:
            with pytest.raises(PermanentError, match=r"unreadable camt\.054"):
                await BankStatements(client).notifications(ACCOUNT)

    @pytest.mark.parametrize(("status", "error"), [(503, TransientError), (400, PermanentError)])
    async def test_bank_answers_become_connector_errors(self, status, error):
        async with _client(lambda _: httpx.Response(status, text="no")) as client:
            with pytest.raises(error, match=f"HTTP {status}"):
                await BankStatements(client).notifications(ACCOUNT)

    async def test_an_unreachable_bank_is_a_transient_error(self):
        def refuse(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("refused", request=request)

        async with _client(refuse) as client:
            with pytest.raises(TransientError, match="connection failed"):
                await BankStatements(client).notifications(ACCOUNT)


# --- end to end against the bank simulator ------------------------------------------------


@pytest.fixture
async def bank() -> AsyncIterator[RunningSimulator]:
    async with running_simulators(["bank"], seed=3) as sims:
        yield sims["bank"]


@pytest.fixture
async def bank_client(bank: RunningSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=bank.base_url) as client:
        yield client


@pytest.fixture
async def units(sqlite_url: str) -> AsyncIterator[UnitOfWorkFactory]:
    database = Database(sqlite_url)
    await database.upgrade()
    yield UnitOfWorkFactory(database, lambda: NOW)
    await database.aclose()


async def _pay(client: httpx.AsyncClient, instructions: list[DisbursementInstruction]) -> None:
    answers = await IsoBankGateway(client).submit_many(instructions)
    assert all(isinstance(a, PaymentResult) for a in answers), answers


def _settled(paid: DisbursementInstruction) -> PaymentResult:
    return PaymentResult(
        instruction_id=paid.id,
        status=PaymentStatus.SETTLED,
        bank_code="ACSC",
        bank_reference=f"REF-{paid.id}",
        reported_at=NOW,
    )


async def _record(units: UnitOfWorkFactory, settled: list[DisbursementInstruction]) -> None:
    """Our books: each instruction persisted, then settled, as the disbursement route does."""
    async with units() as uow:
        for paid in settled:
            await uow.disbursements.add(paid)
            payout = await uow.disbursements.record_result(_settled(paid))
            assert payout is not None
            assert payout.amount == paid.amount
        await uow.commit()


class TestAgainstTheBank:
    async def test_what_we_paid_is_what_the_bank_booked(self, bank_client, units):
        paid = [instruction(1, "361600.00"), instruction(2, "1000.00"), instruction(3, "0.01")]
        await _pay(bank_client, paid)
        await _record(units, paid)

        report = await run_reconciliation(units, BankStatements(bank_client), ACCOUNT)

        assert report.clean
        assert (report.ours, report.booked) == (3, 3)

    async def test_a_lost_payment_and_a_forgotten_row_are_both_listed(self, bank_client, units):
        sent = [instruction(1), instruction(2, "2500.00")]
        await _pay(bank_client, sent)
        lost = instruction(3, "700.00")  # settled in our books, never booked by the bank
        await _record(units, [*sent, lost])
        forgotten = instruction(4, "4200.00")  # paid, but we never stored the row
        await _pay(bank_client, [forgotten])

        report = await run_reconciliation(units, BankStatements(bank_client), ACCOUNT)

        assert (report.ours, report.booked) == (3, 3)
        assert codes(report.differences) == [
            ("D00000003", "MISSING_AT_BANK"),
            ("D00000004", "UNKNOWN_TO_US"),
        ]
        missing, unknown = report.differences
        assert missing.our_amount == Money.of("700.00")
        assert unknown.bank_amount == Money.of("4200.00")
        assert unknown.entry_references == ("3",)  # the bank's third booking

    async def test_payments_from_another_account_are_not_ours_to_reconcile(
        self, bank_client, units
    ):
        other = DEFAULT_FACTOR_ACCOUNT.model_copy(update={"number": OTHER_ACCOUNT})
        await _pay(bank_client, [instruction(1), instruction(2, debtor_account=other)])
        await _record(units, [instruction(1)])

        report = await run_reconciliation(units, BankStatements(bank_client), ACCOUNT)

        assert report.clean
        assert (report.ours, report.booked) == (1, 1)


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.command()(reconcile_command)
    return app


async def _invoke(*args: str) -> Result:
    """The command runs its own event loop: off this one, which serves the simulator."""
    return await asyncio.to_thread(CliRunner().invoke, _cli(), list(args), env={})


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TestReconcileCommand:
    async def test_no_difference_exits_0(self, bank, bank_client, units, sqlite_url):
        await _pay(bank_client, [instruction(1)])
        await _record(units, [instruction(1)])

        result = await _invoke(
            ACCOUNT, "--bank-url", bank.base_url, "--database-url", sqlite_url, "--json"
        )

        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout) == {
            "account": ACCOUNT,
            "ours": 1,
            "booked": 1,
            "differences": [],
        }

    async def test_differences_exit_1_and_are_printed_as_json(
        self, bank, bank_client, units, sqlite_url
    ):
        await _pay(bank_client, [instruction(1, "1000.00")])
        await _record(units, [instruction(2, "361600.00")])

        result = await _invoke(
            ACCOUNT, "--bank-url", bank.base_url, "--database-url", sqlite_url, "--json"
        )

        assert result.exit_code == 1, result.output
        differences = json.loads(result.stdout)["differences"]
        assert [(d["end_to_end_id"], d["code"]) for d in differences] == [
            ("D00000001", "UNKNOWN_TO_US"),
            ("D00000002", "MISSING_AT_BANK"),
        ]
        assert differences[0]["bank_amount"] == {"amount": "1000.00", "currency": "CNY"}
        assert differences[1]["our_amount"] == {"amount": "361600.00", "currency": "CNY"}

    async def test_differences_are_printed_as_a_table_by_default(self, bank, units, sqlite_url):
        await _record(units, [instruction(1)])

        result = await _invoke(ACCOUNT, "--bank-url", bank.base_url, "--database-url", sqlite_url)

        assert result.exit_code == 1, result.output
        assert "D00000001" in result.stdout
        assert "1 difference(s)" in result.stdout

    async def test_an_unreachable_bank_exits_2(self, units, sqlite_url):
        url = f"http://127.0.0.1:{_closed_port()}"

        result = await _invoke(ACCOUNT, "--bank-url", url, "--database-url", sqlite_url)

        assert result.exit_code == 2
        assert "the bank could not be asked" in result.stderr

    @pytest.mark.parametrize("account", ["", "   ", "1" * 35])
    async def test_a_bad_account_exits_2(self, account, sqlite_url):
        result = await _invoke(account, "--database-url", sqlite_url)

        assert result.exit_code == 2
        assert "ACCOUNT must be 1 to 34 characters" in result.stderr

    async def test_a_database_without_our_tables_exits_2(self, bank, tmp_path):
        url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"

        result = await _invoke(ACCOUNT, "--bank-url", bank.base_url, "--database-url", url)

        assert result.exit_code == 2
        assert "our disbursements could not be read" in result.stderr
