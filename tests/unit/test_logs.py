"""Every log line is one JSON object with the trace it was written in, and no planted secret
(account number, ID number, key, password, token, URL credentials) survives into any line."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator

import pytest
import uvicorn
from opentelemetry.sdk.trace import TracerProvider
from typer.testing import CliRunner

from canonical import ConfigurationError
from hub.cli import app
from observability.logs import LIBRARIES, LogSettings, configure_logging, log_settings
from observability.scrub import REDACTED

ACCOUNT = "6222021234567890123"  # 19 digits: a bank card
ID_NUMBER = "11010519491231002X"  # 身份证号
PASSWORD = "hunter2"
TOKEN = "abc.def"
KEY_BODY = "MIGHAgEAMBMGByqGSM49AgEGCCqBHM9VAYItBG0wawIBAQQg"
KEY = f"-----BEGIN PRIVATE KEY-----\n{KEY_BODY}\n-----END PRIVATE KEY-----"
URL_PASSWORD = "s3cr3t-pw"
URL = f"https://bank:{URL_PASSWORD}@bank.example/pay"
NESTED = "ACC-NESTED-7"  # no digits to give it away: only its name does
INVOICE = "25442000000123456789"  # 20-digit 数电 invoice number: kept
SECRETS = (ACCOUNT, ID_NUMBER, PASSWORD, TOKEN, KEY_BODY, URL_PASSWORD, NESTED)
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

Configure = Callable[..., io.StringIO]


@pytest.fixture
def configure() -> Iterator[Configure]:
    """`configure_logging` into a fresh buffer; the process's logging restored afterwards."""
    root = logging.getLogger()
    saved_root = (list(root.handlers), root.level)
    names = [*LIBRARIES, "py.warnings"]
    saved = {n: (list(logging.getLogger(n).handlers), logging.getLogger(n).level) for n in names}
    propagate = {n: logging.getLogger(n).propagate for n in names}

    def configure_into(format: str = "json", level: int = logging.DEBUG) -> io.StringIO:
        stream = io.StringIO()
        configure_logging(format, level, stream=stream)  # type: ignore[arg-type]
        return stream

    yield configure_into
    logging.captureWarnings(False)
    root.handlers[:] = saved_root[0]
    root.setLevel(saved_root[1])
    for name, (handlers, level) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate[name]


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def _log_everything_planted(log: logging.Logger) -> None:
    log.warning(
        "paid to %s for holder %s; password=%s; Authorization: Bearer %s; via %s",
        ACCOUNT,
        ID_NUMBER,
        PASSWORD,
        TOKEN,
        URL,
    )
    log.warning(f"partner answered {{'access_token': '{TOKEN}', 'card': {ACCOUNT}}}")
    log.warning(
        "planted in extra fields",
        extra={
            "note": f"paid to {ACCOUNT}, holder {ID_NUMBER}",
            "payee": {"account": NESTED, "bank": "ICBC"},
            "headers": {"Authorization": f"Bearer {TOKEN}"},
            "card": int(ACCOUNT),
            "holders": [ID_NUMBER, "someone"],
            "ecny.private_key": KEY,
            "url.full": URL,
            "factorhub.invoice_number": INVOICE,
        },
    )
    try:
        raise RuntimeError(f"bank said: account {ACCOUNT} frozen, password={PASSWORD}\n{KEY}")
    except RuntimeError:
        log.exception("disbursement failed")


class TestJsonLines:
    def test_every_line_is_one_json_object_with_trace_and_span_ids_even_outside_a_span(
        self, configure
    ):
        stream = configure()
        logging.getLogger("factorhub.test").info("hub started with %d route(s)", 9)
        logging.getLogger("factorhub.test").error("no span here")
        lines = _lines(stream)
        assert len(lines) == 2
        first = lines[0]
        assert TIMESTAMP.match(str(first["timestamp"]))
        assert first["level"] == "INFO"
        assert first["logger"] == "factorhub.test"
        assert first["message"] == "hub started with 9 route(s)"
        for line in lines:
            assert line["trace_id"] is None
            assert line["span_id"] is None

    def test_inside_a_span_a_line_carries_that_spans_trace_and_span_ids(self, configure):
        stream = configure()
        tracer = TracerProvider().get_tracer("test")
        with tracer.start_as_current_span("process financing.submitted") as outer:
            logging.getLogger("factorhub.test").warning("in the consumer span")
            with tracer.start_as_current_span("POST") as inner:
                logging.getLogger("httpx").info("HTTP Request: POST /payments")
        outer_line, inner_line = _lines(stream)
        for line, span in ((outer_line, outer), (inner_line, inner)):
            context = span.get_span_context()
            assert line["trace_id"] == f"{context.trace_id:032x}"
            assert line["span_id"] == f"{context.span_id:016x}"
        assert inner_line["trace_id"] == outer_line["trace_id"]
        assert inner_line["span_id"] != outer_line["span_id"]

    def test_no_planted_secret_reaches_the_message_the_extra_fields_or_the_traceback(
        self, configure
    ):
        stream = configure()
        _log_everything_planted(logging.getLogger("factorhub.test"))
        output = stream.getvalue()
        for secret in SECRETS:
            assert secret not in output
        direct, answer, extra, failure = _lines(stream)
        assert REDACTED in str(direct["message"])
        assert answer["message"] == (
            f"partner answered {{'access_token': '{REDACTED}', 'card': {REDACTED}}}"
        )
        assert extra["payee.account"] == REDACTED  # judged by its full name, as an attribute
        assert extra["payee.bank"] == "ICBC"
        assert extra["ecny.private_key"] == REDACTED
        assert extra["card"] == REDACTED
        assert extra["holders"] == [REDACTED, "someone"]
        assert "RuntimeError: bank said: account [REDACTED] frozen" in str(failure["exception"])

    def test_the_invoice_number_a_trace_is_searched_by_is_kept(self, configure):
        stream = configure()
        logging.getLogger("factorhub.test").warning(
            "matched", extra={"factorhub.invoice_number": INVOICE, "invoice": INVOICE}
        )
        (line,) = _lines(stream)
        assert line["factorhub.invoice_number"] == INVOICE
        assert line["invoice"] == REDACTED  # any other name: it looks like an account number

    def test_an_extra_named_like_a_line_field_does_not_overwrite_it(self, configure):
        stream = configure()
        tracer = TracerProvider().get_tracer("test")
        with tracer.start_as_current_span("span") as span:
            logging.getLogger("factorhub.test").warning(
                "ok", extra={"trace_id": "forged", "level": "DEBUG"}
            )
        (line,) = _lines(stream)
        assert line["trace_id"] == f"{span.get_span_context().trace_id:032x}"
        assert line["level"] == "WARNING"
        assert line["extra.trace_id"] == "forged"
        assert line["extra.level"] == "DEBUG"


class TestTextLines:
    def test_the_text_format_is_scrubbed_too(self, configure):
        stream = configure("text")
        _log_everything_planted(logging.getLogger("factorhub.test"))
        output = stream.getvalue()
        for secret in SECRETS:
            assert secret not in output
        assert f"factorhub.invoice_number={INVOICE}" in output
        assert "RuntimeError: bank said" in output

    def test_a_text_line_names_its_trace_inside_a_span(self, configure):
        stream = configure("text")
        tracer = TracerProvider().get_tracer("test")
        with tracer.start_as_current_span("span") as span:
            logging.getLogger("factorhub.test").warning("in a span")
        logging.getLogger("factorhub.test").warning("outside")
        inside, outside = stream.getvalue().splitlines()
        context = span.get_span_context()
        assert inside.endswith(
            f"WARNING factorhub.test in a span trace_id={context.trace_id:032x} "
            f"span_id={context.span_id:016x}"
        )
        assert outside.endswith("WARNING factorhub.test outside")


class TestConfiguration:
    def test_configuring_twice_still_writes_each_record_once(self, configure):
        configure("text")
        stream = configure("json")
        logging.getLogger("factorhub.test").warning("once")
        assert len(stream.getvalue().splitlines()) == 1
        assert _lines(stream)[0]["message"] == "once"

    def test_library_loggers_come_out_as_json_through_the_one_handler(self, configure):
        import faststream  # noqa: F401 - installs its own stderr handler at import

        uvicorn.Config(app=None)  # uvicorn's own logging config: its handlers, no propagation
        stream = configure(level=logging.INFO)
        # as hub.serving configures uvicorn: it must not install its own handlers again
        uvicorn.Config(app=None, log_config=None, log_level=None, access_log=False)
        for name in ("uvicorn.error", "faststream", "aiokafka", "aio_pika", "aiormq"):
            logging.getLogger(name).info("from %s", name)
        lines = _lines(stream)
        assert [(line["logger"], line["message"]) for line in lines] == [
            (name, f"from {name}")
            for name in ("uvicorn.error", "faststream", "aiokafka", "aio_pika", "aiormq")
        ]
        for name in ("uvicorn", "uvicorn.error", "faststream"):
            assert logging.getLogger(name).handlers == []

    def test_the_level_applies_to_every_logger(self, configure):
        stream = configure(level=logging.WARNING)
        logging.getLogger("uvicorn.error").info("not wanted")
        logging.getLogger("factorhub.test").info("not wanted")
        logging.getLogger("uvicorn.error").warning("wanted")
        assert [line["message"] for line in _lines(stream)] == ["wanted"]


class TestSettings:
    def test_defaults_are_the_commands_format_at_warning(self):
        assert log_settings({}) == LogSettings(format="json", level=logging.WARNING)
        assert log_settings({}, default_format="text").format == "text"

    def test_the_variables_override_the_commands_defaults(self):
        env = {"FACTORHUB_LOG_FORMAT": "Text", "FACTORHUB_LOG_LEVEL": "error"}
        assert log_settings(env, default_format="json") == LogSettings(
            format="text", level=logging.ERROR
        )

    @pytest.mark.parametrize(
        ("variable", "verbose", "level"),
        [
            (None, True, logging.INFO),
            ("debug", True, logging.DEBUG),
            ("error", True, logging.INFO),
            ("error", False, logging.ERROR),
        ],
    )
    def test_verbose_never_makes_the_logs_quieter_than_the_variable(self, variable, verbose, level):
        env = {} if variable is None else {"FACTORHUB_LOG_LEVEL": variable}
        assert log_settings(env, verbose=verbose).level == level

    def test_bad_values_are_refused_naming_each_variable(self):
        env = {"FACTORHUB_LOG_FORMAT": "xml", "FACTORHUB_LOG_LEVEL": "loud"}
        with pytest.raises(ConfigurationError) as refused:
            log_settings(env)
        assert "FACTORHUB_LOG_FORMAT: json or text, not 'xml'" in str(refused.value)
        assert "FACTORHUB_LOG_LEVEL: one of debug, info, warning, error, critical, not 'loud'" in (
            str(refused.value)
        )

    def test_a_bad_value_stops_the_command_before_it_starts(self):
        result = CliRunner().invoke(
            app,
            ["worker", "--database-url", "nowhere://"],  # were it to start: it fails at once
            env={"FACTORHUB_LOG_FORMAT": "xml"},
        )
        assert result.exit_code == 2
        assert "FACTORHUB_LOG_FORMAT" in result.stderr
