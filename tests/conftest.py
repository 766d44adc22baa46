"""Shared fixtures: one shop world, every domain's model trained once, all in ONE export root.

Session-scoped and lazy: a test file asks for the domains it needs and only those train.
`bazel test //tests:integration_test` runs the three integration test files in one pytest
session (see BUILD), so the recommender, the slow one, trains once for all of them.
"""

from __future__ import annotations

import pytest

from tests import domains

_trained: list[domains.Trained] = []


def pytest_terminal_summary(terminalreporter):
  """How long each domain took to train and export here (the bulk of this package's time)."""
  if _trained:
    terminalreporter.section("train + export wall time")
    for t in _trained:
      terminalreporter.write_line(f"{t.name:32s} {t.seconds:7.1f} s  -> {t.export_dir}")


@pytest.fixture(scope="session")
def world_dir(tmp_path_factory):
  return domains.write_world(tmp_path_factory.mktemp("world"))


@pytest.fixture(scope="session")
def export_root(tmp_path_factory):
  """The one TF-Serving-layout root every domain publishes into and the servers watch."""
  return tmp_path_factory.mktemp("exports")


@pytest.fixture(scope="session")
def vision(tmp_path_factory, world_dir, export_root) -> domains.Trained:
  return _timed(domains.train_vision(tmp_path_factory.mktemp("vision"), world_dir, export_root))


@pytest.fixture(scope="session")
def text(tmp_path_factory, world_dir, export_root) -> domains.Trained:
  return _timed(domains.train_text(tmp_path_factory.mktemp("text"), world_dir, export_root))


@pytest.fixture(scope="session")
def timeseries(tmp_path_factory, world_dir, export_root) -> domains.Trained:
  return _timed(domains.train_timeseries(tmp_path_factory.mktemp("timeseries"), world_dir,
                                         export_root))


@pytest.fixture(scope="session")
def recsys(tmp_path_factory, world_dir, export_root, vision) -> domains.Trained:
  """The recommender with the vision export's ResNet as its frozen image tower."""
  return _timed(domains.train_recsys(tmp_path_factory.mktemp("recsys"), world_dir, export_root,
                                     vision.model_dir))


def _timed(trained: domains.Trained) -> domains.Trained:
  _trained.append(trained)
  return trained
