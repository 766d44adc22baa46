"""download: verified downloads from file:// and a localhost server; clear offline errors."""

import hashlib
import http.server
import threading

import pytest

from common.data import download

PAYLOAD = b"user_id,item_id\n1,2\n" * 1000
SHA = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture
def server(tmp_path):
  """A localhost HTTP server serving tmp_path/www (no test touches the internet)."""
  root = tmp_path / "www"
  root.mkdir()
  (root / "data.csv").write_bytes(PAYLOAD)

  class Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, **kwargs):
      super().__init__(*args, directory=str(root), **kwargs)

    def log_message(self, *args):
      pass

  httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
  thread = threading.Thread(target=httpd.serve_forever, daemon=True)
  thread.start()
  yield f"http://127.0.0.1:{httpd.server_address[1]}"
  httpd.shutdown()
  httpd.server_close()


def test_fetch_over_http_verifies_and_places_file(tmp_path, server):
  dest = download.fetch(f"{server}/data.csv", tmp_path / "out" / "data.csv", SHA, progress=False)
  assert dest.read_bytes() == PAYLOAD
  assert not list(dest.parent.glob(".*part"))  # no temporary file left behind


def test_fetch_from_file_url(tmp_path):
  src = tmp_path / "src.csv"
  src.write_bytes(PAYLOAD)
  dest = download.fetch(src.as_uri(), tmp_path / "dest.csv", SHA, progress=False)
  assert download.sha256_of(dest) == SHA


def test_existing_good_file_needs_no_network(tmp_path):
  dest = tmp_path / "data.csv"
  dest.write_bytes(PAYLOAD)
  assert download.fetch("http://127.0.0.1:9/unreachable", dest, SHA) == dest


def test_wrong_checksum_is_rejected_and_not_kept(tmp_path, server):
  dest = tmp_path / "data.csv"
  with pytest.raises(download.ChecksumError) as e:
    download.fetch(f"{server}/data.csv", dest, "0" * 64, progress=False)
  assert SHA in str(e.value) and "0" * 64 in str(e.value)
  assert not dest.exists() and not list(tmp_path.glob(".*part"))


def test_existing_bad_file_is_reported_with_both_hashes(tmp_path):
  dest = tmp_path / "u.data"
  dest.write_bytes(b"tampered")
  with pytest.raises(download.ChecksumError, match=r"u.data has sha256 [0-9a-f]{64}, expected"):
    download.verify_sha256(dest, SHA)


def test_offline_error_says_which_file_to_place_where(tmp_path, server):
  dest = tmp_path / "ml-100k" / "u.data"
  # A port nobody listens on stands in for "no network".
  with pytest.raises(download.DownloadError) as e:
    download.fetch("http://127.0.0.1:9/ml-100k/u.data", dest, SHA, timeout=2, progress=False)
  message = str(e.value)
  assert f"place the file at {dest}" in message and SHA in message
  with pytest.raises(download.DownloadError, match="404"):
    download.fetch(f"{server}/missing.csv", dest, SHA, progress=False)


def test_verify_missing_file(tmp_path):
  with pytest.raises(FileNotFoundError, match="expected a file with sha256"):
    download.verify_sha256(tmp_path / "nope", SHA)
