"""The ingress's TLS context, the partners' trust and `factorhub serve --tls-*`: every bad file is
named by its option before anything starts (the handshakes themselves: tests/e2e/test_tls.py)."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pytest
import trustme
from cryptography.hazmat.primitives import serialization
from typer.testing import CliRunner

import hub.serving
from canonical import ConfigurationError
from hub.cli import app
from hub.config import Settings
from hub.security.tls import ingress_context, partner_verify

runner = CliRunner()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def files(ca: trustme.CA, tmp_path: Path) -> dict[str, Path]:
    """A server's chain and key, another certificate's key, and the CA: as PEM files."""
    issued = ca.issue_cert("hub.example")
    paths = {name: tmp_path / f"{name}.pem" for name in ("cert", "key", "other_key", "ca")}
    for blob in issued.cert_chain_pems:
        blob.write_to_path(paths["cert"], append=True)
    issued.private_key_pem.write_to_path(paths["key"])
    ca.issue_cert("elsewhere.example").private_key_pem.write_to_path(paths["other_key"])
    ca.cert_pem.write_to_path(paths["ca"])
    return paths


class TestIngressContext:
    def test_it_speaks_tls_1_3_and_nothing_else(self, files):
        context = ingress_context(cert=files["cert"], key=files["key"])
        assert context.minimum_version == ssl.TLSVersion.TLSv1_3
        assert context.maximum_version == ssl.TLSVersion.TLSv1_3
        assert context.verify_mode == ssl.CERT_NONE

    def test_a_client_ca_makes_client_certificates_required(self, files):
        context = ingress_context(cert=files["cert"], key=files["key"], client_ca=files["ca"])
        assert context.verify_mode == ssl.CERT_REQUIRED

    def test_a_missing_certificate_names_the_cert_option(self, files, tmp_path):
        with pytest.raises(ConfigurationError, match=r"--tls-cert .* cannot be read"):
            ingress_context(cert=tmp_path / "absent.pem", key=files["key"])

    def test_a_key_given_as_the_certificate_names_the_cert_option(self, files):
        with pytest.raises(ConfigurationError, match=r"--tls-cert .* holds no PEM certificate"):
            ingress_context(cert=files["key"], key=files["key"])

    def test_a_certificate_given_as_the_key_names_the_key_option(self, files):
        with pytest.raises(ConfigurationError, match=r"--tls-key .* is not a PEM private key"):
            ingress_context(cert=files["cert"], key=files["cert"])

    def test_a_key_of_another_certificate_is_named_as_not_matching(self, files):
        with pytest.raises(ConfigurationError, match=r"--tls-key .* is not the key of the cert"):
            ingress_context(cert=files["cert"], key=files["other_key"])

    def test_an_encrypted_key_is_refused_without_prompting_for_its_password(self, files):
        key = serialization.load_pem_private_key(files["key"].read_bytes(), password=None)
        files["key"].write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(b"secret"),
            )
        )
        with pytest.raises(ConfigurationError, match=r"--tls-key .* is encrypted"):
            ingress_context(cert=files["cert"], key=files["key"])

    def test_a_client_ca_without_a_certificate_names_its_option(self, files):
        with pytest.raises(ConfigurationError, match=r"--tls-client-ca .* holds no PEM cert"):
            ingress_context(cert=files["cert"], key=files["key"], client_ca=files["key"])


class TestPartnerTrust:
    def test_without_a_bundle_httpx_verifies_against_its_own_roots(self):
        assert partner_verify(None) is True

    def test_a_bundle_adds_its_ca_and_certificates_and_host_names_stay_checked(self, ca):
        pem = ca.cert_pem.bytes().decode()
        context = partner_verify(pem)
        assert isinstance(context, ssl.SSLContext)
        assert context.verify_mode == ssl.CERT_REQUIRED
        assert context.check_hostname
        trusted = context.get_ca_certs(binary_form=True)
        assert ssl.PEM_cert_to_DER_cert(pem) in trusted
        assert len(trusted) > 1  # the usual roots are still there

    def test_a_bundle_without_a_certificate_is_refused_naming_the_variable(self):
        with pytest.raises(ConfigurationError, match="FACTORHUB_CA_BUNDLE"):
            partner_verify("not a certificate")

    def test_the_bundle_is_read_from_the_file_the_variable_names(self, files):
        settings = Settings.from_env({"FACTORHUB_CA_BUNDLE": str(files["ca"])})
        assert settings.ca_bundle_pem == files["ca"].read_text()

    def test_an_unreadable_bundle_file_is_refused_naming_the_variable(self, tmp_path):
        with pytest.raises(ConfigurationError, match="FACTORHUB_CA_BUNDLE"):
            Settings.from_env({"FACTORHUB_CA_BUNDLE": str(tmp_path / "absent.pem")})


class TestServeCommand:
    @pytest.fixture(autouse=True)
    def started(self, monkeypatch) -> list[dict[str, Any]]:
        """The servers `serve` would start (none runs: a wrong acceptance cannot hang here)."""
        calls: list[dict[str, Any]] = []

        async def serve_forever(settings: Settings, **options: Any) -> None:
            calls.append(options)

        monkeypatch.setattr(hub.serving, "serve_forever", serve_forever)
        return calls

    @staticmethod
    def invoke(*args: str, **env: str) -> tuple[int, str]:
        result = runner.invoke(app, ["serve", *args], env={"COLUMNS": "500", **env})
        return result.exit_code, " ".join(result.output.split())

    def test_good_files_start_the_server_over_tls_1_3(self, files, started):
        code, output = self.invoke("--tls-cert", str(files["cert"]), "--tls-key", str(files["key"]))
        assert code == 0, output
        [options] = started
        assert options["tls"].minimum_version == ssl.TLSVersion.TLSv1_3

    def test_the_files_can_come_from_the_environment(self, files, started):
        code, output = self.invoke(
            FACTORHUB_TLS_CERT=str(files["cert"]),
            FACTORHUB_TLS_KEY=str(files["key"]),
            FACTORHUB_TLS_CLIENT_CA=str(files["ca"]),
        )
        assert code == 0, output
        assert started[0]["tls"].verify_mode == ssl.CERT_REQUIRED

    def test_without_tls_options_it_serves_plain_http(self, started):
        code, output = self.invoke()
        assert code == 0, output
        assert started[0]["tls"] is None

    def test_a_missing_certificate_stops_it_with_exit_2_naming_the_option(
        self, files, tmp_path, started
    ):
        absent = tmp_path / "absent.pem"
        code, output = self.invoke("--tls-cert", str(absent), "--tls-key", str(files["key"]))
        assert code == 2
        assert f"--tls-cert '{absent}' cannot be read" in output
        assert started == []

    def test_a_key_not_matching_the_certificate_stops_it_with_exit_2(self, files, started):
        code, output = self.invoke(
            "--tls-cert", str(files["cert"]), "--tls-key", str(files["other_key"])
        )
        assert code == 2
        assert "--tls-key" in output
        assert "is not the key of the certificate" in output
        assert started == []

    def test_a_bad_client_ca_from_the_environment_is_named_by_its_option(self, files, started):
        code, output = self.invoke(
            "--tls-cert",
            str(files["cert"]),
            "--tls-key",
            str(files["key"]),
            FACTORHUB_TLS_CLIENT_CA=str(files["key"]),
        )
        assert code == 2
        assert "--tls-client-ca" in output
        assert "holds no PEM certificate" in output
        assert started == []

    def test_a_certificate_without_its_key_stops_it_with_exit_2(self, files, started):
        code, output = self.invoke("--tls-cert", str(files["cert"]))
        assert code == 2
        assert "--tls-cert needs --tls-key" in output
        assert started == []

    def test_a_client_ca_without_a_certificate_stops_it_with_exit_2(self, files, started):
        code, output = self.invoke("--tls-client-ca", str(files["ca"]))
        assert code == 2
        assert "--tls-client-ca needs --tls-cert" in output
        assert started == []
