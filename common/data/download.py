"""Downloads that verify a sha256 and, when there is no network, say which file to place where.

Every real dataset file the project reads has a known sha256 (see each dataset's PROVENANCE.md).
`fetch` downloads to a temporary file next to the destination, checks the hash, and only then
renames it into place, so a half-finished or tampered download never looks like a good file.
Machines without internet access are normal (CI, TPU VMs behind a proxy): there the error names
the URL, the destination path and the hash, so the file can be copied in by hand.
"""

import hashlib
import os
import pathlib
import tempfile
import urllib.error
import urllib.request

from tqdm import tqdm

_CHUNK = 1 << 20


class ChecksumError(ValueError):
  """A file's sha256 is not the expected one."""


class DownloadError(OSError):
  """A file could not be downloaded; the message says how to place it by hand."""


def sha256_of(path: str | os.PathLike) -> str:
  """Hex sha256 of a file, read in 1 MiB chunks."""
  digest = hashlib.sha256()
  with open(path, "rb") as f:
    while chunk := f.read(_CHUNK):
      digest.update(chunk)
  return digest.hexdigest()


def verify_sha256(path: str | os.PathLike, sha256: str) -> pathlib.Path:
  """Checks that `path` exists and has the given sha256; returns the path.

  Raises:
    FileNotFoundError: the file is missing.
    ChecksumError: the hash differs; the message gives both hashes and what to do.
  """
  path = pathlib.Path(path)
  if not path.is_file():
    raise FileNotFoundError(f"{path} does not exist; expected a file with sha256 {sha256}")
  actual = sha256_of(path)
  if actual != sha256.lower():
    raise ChecksumError(
        f"{path} has sha256 {actual}, expected {sha256.lower()}: the file is corrupt, truncated or "
        "a different version. Delete it and download it again (or place the right file there).")
  return path


def _download(url: str, dest: pathlib.Path, sha256: str | None, timeout: float,
              progress: bool) -> None:
  """Downloads `url` to a temporary file beside `dest`, verifies it if asked, renames it onto `dest`."""
  dest.parent.mkdir(parents=True, exist_ok=True)
  fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
  tmp = pathlib.Path(tmp_name)
  try:
    with os.fdopen(fd, "wb") as out:
      try:
        response = urllib.request.urlopen(url, timeout=timeout)  # http, https and file URLs on purpose
      except (urllib.error.URLError, OSError, ValueError) as e:
        reason = e if isinstance(e, urllib.error.HTTPError) else getattr(e, "reason", e)
        expected = f" (sha256 {sha256})" if sha256 else ""
        raise DownloadError(
            f"could not download {url} ({reason}). Without network access, place the file at "
            f"{dest} by hand{expected}; it will be verified and used.") from e
      with response:
        total = int(response.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name,
                  disable=not progress) as bar:
          while chunk := response.read(_CHUNK):
            out.write(chunk)
            bar.update(len(chunk))
    if sha256:
      verify_sha256(tmp, sha256)
    os.replace(tmp, dest)
  finally:
    tmp.unlink(missing_ok=True)


def fetch(url: str, dest: str | os.PathLike, sha256: str, *, timeout: float = 30.0,
          progress: bool = True) -> pathlib.Path:
  """Makes sure `dest` holds the file at `url` with the given sha256.

  A `dest` that already has the right hash is used as is (no network access). Otherwise the URL
  is downloaded (http, https or file) to a temporary file, verified, and renamed onto `dest`.

  Args:
    url: where to download from.
    dest: the file's final path; its directory is created.
    sha256: the expected hex sha256.
    timeout: seconds to wait for the server.
    progress: show a tqdm progress bar.

  Returns:
    `dest` as a `pathlib.Path`.

  Raises:
    ChecksumError: the existing or downloaded file has the wrong hash (a bad download is deleted).
    DownloadError: the URL could not be fetched (offline, 404, ...); the message says which file
      to place where, with its hash.
  """
  dest = pathlib.Path(dest)
  if dest.is_file():
    return verify_sha256(dest, sha256)
  _download(url, dest, sha256, timeout, progress)
  return dest


def fetch_unverified(url: str, dest: str | os.PathLike, *, timeout: float = 30.0,
                     progress: bool = True) -> pathlib.Path:
  """Like `fetch` for an archive whose own hash is unknown: verify the files inside it instead."""
  dest = pathlib.Path(dest)
  _download(url, dest, None, timeout, progress)
  return dest
