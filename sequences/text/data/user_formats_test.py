"""A user's own layouts (csv_file, class_files, class_folders, `data.detect`): encodings,
gs://-style paths and every format error."""

import ml_collections
import numpy as np
import pytest
import tensorflow as tf

from sequences.text import data as text_data
from sequences.text.data import class_files, class_folders, csv_file

# Windows-1252 0x97 is an em dash; it is not valid UTF-8 (a lone continuation byte).
CP1252_LINE = "a thriller \u2014 tense and clever".encode("cp1252")


def _load(path, source, encoding="utf-8"):
  return text_data.load(ml_collections.ConfigDict({
      "source": source, "path": path, "encoding": encoding, "text_column": "text",
      "label_column": "label"}))


def _write(path, data: bytes):
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_bytes(data)
  return path


def test_csv_names_columns_and_joins_text_columns(tmp_path):
  path = _write(tmp_path / "news.csv",
                b'id,title,body,topic\n1,Stocks rise,"Markets, up",biz\n2,Cup final,Goal,sport\n')
  data = csv_file.read(str(path), text_column="title,body", label_column="topic",
                          id_column="id")
  assert data.texts == ["Stocks rise Markets, up", "Cup final Goal"]
  assert data.class_names == ["biz", "sport"]
  np.testing.assert_array_equal(data.labels, [0, 1])
  assert data.keys == ["1", "2"]


def test_csv_missing_column_names_file_and_fix(tmp_path):
  path = _write(tmp_path / "a.csv", b"review,stars\ngood,5\nbad,1\n")
  with pytest.raises(text_data.TextFormatError, match=r"a\.csv:1: .*no column\(s\) \['text', 'label'\].*"
                     r"--config\.data\.text_column"):
    csv_file.read(str(path))


def test_csv_bad_row_names_line(tmp_path):
  path = _write(tmp_path / "a.csv", b"text,label\ngood,pos\nbad,neg,extra\n")
  with pytest.raises(text_data.TextFormatError, match=r"a\.csv:3: 3 fields, the header has 2"):
    csv_file.read(str(path))


def test_csv_empty_text_and_label_name_line(tmp_path):
  path = _write(tmp_path / "a.csv", b"text,label\ngood,pos\n  ,neg\n")
  with pytest.raises(text_data.TextFormatError, match=r"a\.csv:3: empty text"):
    csv_file.read(str(path))
  path = _write(tmp_path / "b.csv", b"text,label\ngood,pos\nbad,\n")
  with pytest.raises(text_data.TextFormatError, match=r"b\.csv:3: empty label"):
    csv_file.read(str(path))


def test_class_files_cp1252(tmp_path):
  _write(tmp_path / "mr" / "pos.txt", b"great fun\n\n" + CP1252_LINE + b"\n")
  _write(tmp_path / "mr" / "neg.txt", b"dull\r\nboring plot\r\n")
  with pytest.raises(text_data.TextFormatError,
                     match=r"pos\.txt:3: byte 0x97 is not valid utf-8; .*encoding=cp1252"):
    class_files.read(str(tmp_path / "mr"))
  data = class_files.read(str(tmp_path / "mr"), encoding="cp1252")
  assert data.class_names == ["neg", "pos"]
  assert data.texts == ["dull", "boring plot", "great fun", "a thriller \u2014 tense and clever"]
  np.testing.assert_array_equal(data.labels, [0, 0, 1, 1])


def test_class_files_take_extensions_when_stems_collide(tmp_path):
  _write(tmp_path / "rt" / "rt-polarity.pos", b"good\n")
  _write(tmp_path / "rt" / "rt-polarity.neg", b"bad\n")
  assert class_files.read(str(tmp_path / "rt")).class_names == ["neg", "pos"]


def test_class_files_errors(tmp_path):
  _write(tmp_path / "one" / "pos.txt", b"good\n")
  with pytest.raises(text_data.TextFormatError, match="holds 1 file"):
    class_files.read(str(tmp_path / "one"))
  _write(tmp_path / "blank" / "pos.txt", b"good\n")
  _write(tmp_path / "blank" / "neg.txt", b"\n \n")
  with pytest.raises(text_data.TextFormatError, match=r"neg\.txt: no non-blank lines"):
    class_files.read(str(tmp_path / "blank"))
  with pytest.raises(text_data.TextFormatError, match="'no-such-codec' is not a Python codec"):
    class_files.read(str(tmp_path / "blank"), encoding="no-such-codec")


def test_class_folders(tmp_path):
  _write(tmp_path / "imdb" / "pos" / "1.txt", b"loved it\n")
  _write(tmp_path / "imdb" / "pos" / "2.txt", b"superb")
  _write(tmp_path / "imdb" / "neg" / "1.txt", CP1252_LINE)
  data = class_folders.read(str(tmp_path / "imdb"), encoding="cp1252")
  assert data.class_names == ["neg", "pos"]
  assert data.texts == ["a thriller \u2014 tense and clever", "loved it", "superb"]
  assert data.keys == ["neg/1.txt", "pos/1.txt", "pos/2.txt"]
  with pytest.raises(text_data.TextFormatError, match=r"neg/1\.txt:1: byte 0x97"):
    class_folders.read(str(tmp_path / "imdb"))
  _write(tmp_path / "imdb" / "neu" / "1.txt", b"   ")
  with pytest.raises(text_data.TextFormatError, match=r"neu/1\.txt:1: empty text"):
    class_folders.read(str(tmp_path / "imdb"), encoding="cp1252")


def test_detect_and_read(tmp_path):
  csv_path = _write(tmp_path / "d.csv", b"text,label\na,x\nb,y\n")
  _write(tmp_path / "files" / "x.txt", b"a\n")
  _write(tmp_path / "files" / "y.txt", b"b\n")
  _write(tmp_path / "folders" / "x" / "1.txt", b"a")
  _write(tmp_path / "folders" / "y" / "1.txt", b"b")
  assert text_data.detect(str(csv_path)) == "csv"
  assert text_data.detect(str(tmp_path / "files")) == "class_files"
  assert text_data.detect(str(tmp_path / "folders")) == "class_folders"
  for name in ("d.csv", "files", "folders"):
    path = str(tmp_path / name)
    assert _load(path, text_data.detect(path)).texts == ["a", "b"]
  with pytest.raises(FileNotFoundError, match="does not exist; pass a CSV file"):
    text_data.detect(str(tmp_path / "missing"))
  with pytest.raises(text_data.TextFormatError, match=r"only the class\(es\) \['x'\]"):
    csv_file.read(str(_write(tmp_path / "one.csv", b"text,label\na,x\nb,x\n")))


def test_reads_through_gfile_filesystems():
  # ram:// is a tf.io.gfile filesystem like gs://: nothing here may use open() or os.path.
  root = "ram://trellis_formats_test/reviews"
  tf.io.gfile.makedirs(root)
  with tf.io.gfile.GFile(f"{root}/pos.txt", "wb") as f:
    f.write(CP1252_LINE + b"\n")
  with tf.io.gfile.GFile(f"{root}/neg.txt", "wb") as f:
    f.write(b"dull\n")
  data = _load(root, text_data.detect(root), encoding="cp1252")
  assert data.class_names == ["neg", "pos"]
  assert data.texts[1].endswith("tense and clever")
