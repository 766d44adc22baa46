"""datasets: verified access to real files, fetching from a local server, and helpful errors."""

import dataclasses
import hashlib
import http.server
import io
import tarfile
import threading
import zipfile

import pytest

from common.data import data_dir, datasets, download, fetch


@pytest.fixture
def server(tmp_path):
  """A localhost HTTP server over tmp_path/www; no test touches the internet."""
  root = tmp_path / "www"
  root.mkdir()

  class Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, **kwargs):
      super().__init__(*args, directory=str(root), **kwargs)

    def log_message(self, *args):
      pass

  httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
  threading.Thread(target=httpd.serve_forever, daemon=True).start()
  yield root, f"http://127.0.0.1:{httpd.server_address[1]}/"
  httpd.shutdown()
  httpd.server_close()


def _sha(data: bytes) -> str:
  return hashlib.sha256(data).hexdigest()


@pytest.fixture
def fake_registry(monkeypatch, server):
  root, url = server
  (root / "a.csv").write_bytes(b"x,y\n1,2\n")
  buf = io.BytesIO()
  with zipfile.ZipFile(buf, "w") as z:
    z.writestr("pack/u.data", b"1\t2\t3\t4\n")
  (root / "pack.zip").write_bytes(buf.getvalue())
  monkeypatch.setitem(datasets.DATASETS, "plain", datasets.Dataset(
      name="plain", homepage="https://example.org", base_url=url,
      files={"a.csv": _sha(b"x,y\n1,2\n")}))
  monkeypatch.setitem(datasets.DATASETS, "zipped", datasets.Dataset(
      name="zipped", homepage="https://example.org", archive_url=url + "pack.zip",
      archive_dir="pack", files={"u.data": _sha(b"1\t2\t3\t4\n")}))
  return url


def test_fetch_plain_files_and_archives(tmp_path, fake_registry):
  out = tmp_path / "data"
  assert [p.name for p in datasets.fetch("plain", out, progress=False)] == ["a.csv"]
  assert datasets.require(out, "plain", "a.csv").read_bytes() == b"x,y\n1,2\n"
  datasets.fetch("zipped", out, progress=False)
  assert (out / "zipped" / "u.data").read_bytes() == b"1\t2\t3\t4\n"
  assert sorted(p.name for p in (out / "zipped").iterdir()) == ["u.data"]  # no archive left


def test_missing_file_error_names_place_and_command(tmp_path):
  with pytest.raises(data_dir.DataNotFoundError) as e:
    datasets.require(tmp_path, "ett", "ETTh1.csv")
  message = str(e.value)
  assert str(tmp_path / "ett" / "ETTh1.csv") in message
  assert "bazel run //common/data:fetch -- ett" in message
  assert datasets.DATASETS["ett"].files["ETTh1.csv"] in message


def test_wrong_version_of_a_file_is_caught(tmp_path):
  (tmp_path / "ett").mkdir()
  (tmp_path / "ett" / "ETTh1.csv").write_text("date,OT\n2016-07-01 00:00:00,30.5\n")
  with pytest.raises(download.ChecksumError, match="expected f18de3ad"):
    datasets.require(tmp_path, "ett", "ETTh1.csv")


def test_offline_fetch_says_what_to_place_where(tmp_path, monkeypatch):
  monkeypatch.setitem(datasets.DATASETS, "offline", datasets.Dataset(
      name="offline", homepage="https://example.org", base_url="http://127.0.0.1:9/",
      files={"f.csv": "0" * 64}))
  with pytest.raises(download.DownloadError, match=f"place the file at {tmp_path}/offline/f.csv"):
    datasets.fetch("offline", tmp_path, progress=False)


def test_unknown_names_are_listed():
  with pytest.raises(KeyError, match="known datasets: ag_news, cifar10, ett, fashion_mnist, "
                     "ml-100k, mnist"):
    datasets.get("imagenet21k")
  with pytest.raises(KeyError, match="has no file"):
    datasets.require("/tmp", "ett", "ETTm3.csv")


def test_fetch_tool_lists_status(tmp_path):
  text = fetch.status(tmp_path)
  assert "ett        0/4 files" in text and "ml-100k" in text


def test_real_files_match_their_hashes():
  # Bazel passes TRELLIS_DATA_DIR through; skip where the real data is not on this machine.
  root = data_dir.resolve(None, must_exist=False)
  if not (root / "ett" / "ETTh1.csv").is_file():
    pytest.skip(f"no real data under {root} (set TRELLIS_DATA_DIR)")
  for name, dataset in datasets.DATASETS.items():
    if not (root / name).is_dir():
      continue  # mnist, fashion_mnist and cifar10 are not in ../shared/data
    for filename in dataset.files:
      if filename.startswith("ETTm") and not (root / name / filename).exists():
        continue  # the 15-minute ETT files are not in ../shared/data (see its PROVENANCE.md)
      assert datasets.require(root, name, filename).is_file()


def _md5(data: bytes) -> str:
  return hashlib.md5(data, usedforsecurity=False).hexdigest()


def test_md5_datasets_fetch_from_a_tar_archive_and_verify_each_file(tmp_path, server, monkeypatch):
  root, url = server
  members = {"data_batch_1": b"batch one", "batches.meta": b"meta"}
  with tarfile.open(root / "pack.tar.gz", "w:gz") as tar:
    for name, data in members.items():
      info = tarfile.TarInfo(f"pack-py/{name}")
      info.size = len(data)
      tar.addfile(info, io.BytesIO(data))
  archive_md5 = _md5((root / "pack.tar.gz").read_bytes())
  entry = datasets.Dataset(
      name="tarred", homepage="https://example.org", archive_url=url + "pack.tar.gz",
      archive_dir="pack-py", archive_md5=archive_md5,
      md5={name: _md5(data) for name, data in members.items()})
  monkeypatch.setitem(datasets.DATASETS, "tarred", entry)
  out = tmp_path / "data"
  assert sorted(p.name for p in datasets.fetch("tarred", out, progress=False)) == [
      "batches.meta", "data_batch_1"]
  assert (out / "tarred" / "data_batch_1").read_bytes() == b"batch one"
  assert datasets.require(out, "tarred", "batches.meta").read_bytes() == b"meta"
  assert datasets.checksum("tarred", "pack.tar.gz") == ("md5", archive_md5)
  datasets.verify("tarred", "data_batch_1", b"batch one")  # bytes read out of an archive
  with pytest.raises(download.ChecksumError, match=r"data_batch_1 \(bytes\) has md5 .* expected "
                     + _md5(b"batch one") + r".*fetch -- tarred"):
    datasets.verify("tarred", "data_batch_1", b"batch two")
  monkeypatch.setitem(datasets.DATASETS, "tarred",
                      dataclasses.replace(entry, archive_md5="0" * 32))
  with pytest.raises(download.ChecksumError, match=r"pack.tar.gz has md5 .* expected 0{32}"):
    datasets.fetch("tarred", tmp_path / "again", progress=False)


def test_verify_reads_any_file_system_and_names_a_missing_file(tmp_path):
  import tensorflow as tf

  published = datasets.checksum("cifar10", "test_batch")
  assert published == ("md5", "40351d587109b95175f43aff81a1287e")
  with tf.io.gfile.GFile("ram://verify/test_batch", "wb") as f:
    f.write(b"not the published batch")
  with pytest.raises(download.ChecksumError, match=r"ram://verify/test_batch has md5"):
    datasets.verify("cifar10", "test_batch", "ram://verify/test_batch")
  with pytest.raises(FileNotFoundError, match=r"absent does not exist; expected cifar10's test_batch"):
    datasets.verify("cifar10", "test_batch", tmp_path / "absent")
  with pytest.raises(KeyError, match="has no file 'data_batch_9'"):
    datasets.verify("cifar10", "data_batch_9", b"")


def test_fetch_into_an_object_store_says_to_fetch_locally_and_copy():
  with pytest.raises(ValueError, match="local --data_dir, then copy it up"):
    datasets.fetch("ett", "gs://bucket/data")
