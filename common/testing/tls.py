"""A self-signed TLS certificate for tests of servers that speak TLS on localhost.

    cert, key, cert_pem = tls.self_signed(tmp_path)
    server = ModelServer(ServerOptions(..., tls_cert=cert, tls_key=key))
    grpc.ssl_channel_credentials(root_certificates=cert_pem)    # the client trusts exactly it

The certificate names "localhost" (subject and subjectAltName, which TLS clients check) and is
valid from a minute ago (clock skew between processes) for an hour. Its key is an ECDSA P-256
key: generated in milliseconds, unlike RSA.
"""

from __future__ import annotations

import datetime
import pathlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOST = "localhost"


def self_signed(folder: str | pathlib.Path) -> tuple[pathlib.Path, pathlib.Path, bytes]:
  """Writes `cert.pem` and `key.pem` (PKCS#8, unencrypted) into `folder`, a local test folder.

  Returns:
    (certificate file, key file, the certificate's PEM bytes for a client's trust store).
  """
  folder = pathlib.Path(folder)  # local: a test's temporary folder
  key = ec.generate_private_key(ec.SECP256R1())
  name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
  now = datetime.datetime.now(datetime.UTC)
  cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
          .public_key(key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=1))
          .not_valid_after(now + datetime.timedelta(hours=1))
          .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
          .sign(key, hashes.SHA256()))
  cert_pem = cert.public_bytes(serialization.Encoding.PEM)
  cert_file, key_file = folder / "cert.pem", folder / "key.pem"
  cert_file.write_bytes(cert_pem)  # local: a test's temporary folder
  key_file.write_bytes(key.private_bytes(  # local: a test's temporary folder
      serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
  return cert_file, key_file, cert_pem
