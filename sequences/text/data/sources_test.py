"""The native sources (AG News, polarity, JSONL, shop world) and `data.load`: checksums,
fingerprints, and errors that name file:line."""

import json
import os
import pathlib

import ml_collections
import pytest
import tensorflow as tf

from common.data import datasets, download, fingerprint
from common.shopworld import world as shopworld
from sequences.text import data as text_data
from sequences.text.data import ag_news, csv_file, jsonl_file, polarity

AG_NEWS = pathlib.Path(os.environ.get("TRELLIS_DATA_DIR", "/nonexistent")) / "ag_news"


@pytest.mark.skipif(not (AG_NEWS / "test.csv").is_file(),
                    reason="AG News not found under $TRELLIS_DATA_DIR/ag_news")
def test_ag_news_test_split_matches_provenance():
  data = ag_news.read(str(AG_NEWS.parent))
  assert len(data.texts) == 7600 and data.class_names == ["World", "Sports", "Business",
                                                          "Sci/Tech"]
  assert (data.labels == 0).sum() == 1900  # 1,900 per class, as readme.txt says
  assert data.texts[0].startswith("Fears for T N pension after talks ")
  # The registry's checksum names the verified file; classes.txt lists the same names.
  assert data.fingerprint == fingerprint.of("ag_news", "test.csv",
                                            datasets.get("ag_news").files["test.csv"])
  assert (AG_NEWS / "classes.txt").read_text().split() == data.class_names
  assert data.fingerprint.startswith("ag_news:")


@pytest.mark.skipif(not (AG_NEWS / "test.csv").is_file(),
                    reason="AG News not found under $TRELLIS_DATA_DIR/ag_news")
def test_ag_news_modified_copy_fails_the_checksum(tmp_path):
  (tmp_path / "ag_news").mkdir()
  text = (AG_NEWS / "test.csv").read_text().replace("smog-fighting", "smogfighting")
  (tmp_path / "ag_news" / "test.csv").write_text(text)
  with pytest.raises(download.ChecksumError):
    ag_news.read(str(tmp_path))


def test_ag_news_missing_says_where_to_put_it(tmp_path):
  with pytest.raises(FileNotFoundError, match=r"ag_news/test\.csv"):
    ag_news.read(str(tmp_path))


def test_polarity_files(tmp_path):
  (tmp_path / "pos").write_text("a moving film\n\nsharp and funny\n")
  (tmp_path / "neg").write_bytes("dull , lifeless\nna\xefve plot\n".encode("cp1252"))
  with pytest.raises(ValueError, match=r"neg:2: byte 0xef is not valid utf-8; .*encoding=cp1252"):
    polarity.read(tmp_path / "pos", tmp_path / "neg")
  data = polarity.read(tmp_path / "pos", tmp_path / "neg", encoding="cp1252")
  assert data.texts == ["dull , lifeless", "naïve plot", "a moving film", "sharp and funny"]
  assert data.labels.tolist() == [0, 0, 1, 1] and data.class_names == ["neg", "pos"]


def test_fingerprint_names_the_content_not_the_location(tmp_path):
  for folder in ("a", "b"):
    (tmp_path / folder).mkdir()
    (tmp_path / folder / "pos").write_text("a moving film\n")
    (tmp_path / folder / "neg").write_text("dull\n")
  first = polarity.read(tmp_path / "a" / "pos", tmp_path / "a" / "neg").fingerprint
  assert first.startswith("polarity:")
  assert polarity.read(tmp_path / "b" / "pos", tmp_path / "b" / "neg").fingerprint == first
  (tmp_path / "b" / "neg").write_text("dull and long\n")
  assert polarity.read(tmp_path / "b" / "pos", tmp_path / "b" / "neg").fingerprint != first


def test_generic_csv_and_jsonl(tmp_path):
  (tmp_path / "d.csv").write_text('label,text\nspam,"win, now"\nham,see you\n')
  data = csv_file.read(tmp_path / "d.csv")
  assert data.texts == ["win, now", "see you"] and data.class_names == ["ham", "spam"]
  assert data.labels.tolist() == [1, 0]
  rows = [{"text": "hello", "label": 1, "id": "a"}, {"text": "bye", "label": 0, "id": "b"}]
  (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
  data = jsonl_file.read(tmp_path / "d.jsonl")
  assert data.keys == ["a", "b"] and data.labels.tolist() == [1, 0]


@pytest.mark.parametrize("name, content, message", [
    ("a.csv", "text,label\n,x\n", r"a.csv:2: empty text"),
    ("b.csv", "words,label\nhi,x\n", r"b.csv:1: .*no column\(s\) \['text'\]"),
    ("c.csv", "text,label\nhi,x,extra\n", r"c.csv:2: 3 fields, the header has 2"),
    ("d.jsonl", '{"text": "hi", "label": 1}\n{"text": "hi"\n', r"d.jsonl:2: not valid JSON"),
    ("e.jsonl", '{"txt": "hi", "label": 1}\n', r"e.jsonl:1: expected an object"),
])
def test_bad_files_name_file_and_line(tmp_path, name, content, message):
  (tmp_path / name).write_text(content)
  reader = csv_file.read if name.endswith(".csv") else jsonl_file.read
  with pytest.raises(ValueError, match=message):
    reader(tmp_path / name)


def _data_config(source, path=""):
  return ml_collections.ConfigDict({"source": source, "path": path, "encoding": "utf-8",
                                    "text_column": "text", "label_column": "label"})


def test_shopworld_items(tmp_path):
  world = shopworld.generate(seed=0, size="tiny")
  world.write(tmp_path)
  data = text_data.load(_data_config("shopworld", str(tmp_path)))
  assert len(data.texts) == len(world.items.item_id)
  assert data.class_names == sorted(world.categories)
  assert data.keys[0] == "item_00000"


def test_unknown_source_and_missing_path_say_what_to_set():
  with pytest.raises(ValueError, match="not one of ag_news, polarity"):
    text_data.load(_data_config("imdb"))
  with pytest.raises(ValueError, match=r"needs --config\.data\.path"):
    text_data.load(_data_config("class_files"))
  with pytest.raises(ValueError, match="polarity needs 'pos_file,neg_file'"):
    text_data.load(_data_config("polarity", "only_one"))


def test_files_on_a_non_local_file_system(tmp_path):
  """Data may be on gs://; TensorFlow's ram:// file system stands in for it here."""
  root = "ram://loaders_test"
  files = {"d.csv": 'label,text\nspam,"win, now"\nham,see you\n',
           "d.jsonl": '{"text": "hello", "label": 1, "id": "a"}\n{"text": "bye", "label": 0}\n',
           "pos": "a moving film\n", "neg": "dull , lifeless\n"}
  tf.io.gfile.makedirs(root)
  for name, content in files.items():
    with tf.io.gfile.GFile(f"{root}/{name}", "w") as f:
      f.write(content)
  data = csv_file.read(f"{root}/d.csv")
  assert data.texts == ["win, now", "see you"] and data.name == "d.csv"
  assert jsonl_file.read(f"{root}/d.jsonl").keys == ["a", "bye"]
  assert text_data.load(_data_config("polarity", f"{root}/pos,{root}/neg")).labels.tolist() == [0, 1]
  with pytest.raises(FileNotFoundError, match=r"ram://loaders_test/nope\.csv does not exist"):
    csv_file.read(f"{root}/nope.csv")
  shopworld.generate(seed=0, size="tiny").write(tmp_path)  # the generator writes locally
  tf.io.gfile.makedirs(f"{root}/world")
  tf.io.gfile.copy(str(tmp_path / "items.csv"), f"{root}/world/items.csv")
  assert text_data.load(_data_config("shopworld", f"{root}/world")).keys[0] == "item_00000"
