"""tls: the certificate is one a TLS client that trusts exactly it accepts for "localhost"."""

import datetime
import socket
import ssl
import threading

from cryptography import x509

from common.testing import tls


def test_a_client_trusting_the_certificate_completes_a_handshake_with_localhost(tmp_path):
  cert, key, cert_pem = tls.self_signed(tmp_path)
  assert cert.read_bytes() == cert_pem and b"PRIVATE KEY" in key.read_bytes()
  server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
  server_context.load_cert_chain(cert, key)
  client_context = ssl.create_default_context(cadata=cert_pem.decode())  # checks the host name
  with socket.create_server(("127.0.0.1", 0)) as listener:
    answer = []

    def serve():
      conn, _ = listener.accept()
      with server_context.wrap_socket(conn, server_side=True) as tls_conn:
        answer.append(tls_conn.recv(5))

    thread = threading.Thread(target=serve)
    thread.start()
    with socket.create_connection(listener.getsockname(), timeout=10) as raw, \
        client_context.wrap_socket(raw, server_hostname="localhost") as conn:
      conn.sendall(b"hello")
    thread.join(10)
  assert answer == [b"hello"]


def test_the_certificate_names_localhost_alone_and_is_valid_now(tmp_path):
  _, _, cert_pem = tls.self_signed(tmp_path)
  cert = x509.load_pem_x509_certificate(cert_pem)
  names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
  assert names.get_values_for_type(x509.DNSName) == ["localhost"]
  now = datetime.datetime.now(datetime.UTC)
  assert cert.not_valid_before_utc < now < cert.not_valid_after_utc
