"""Structured logs: one JSON object per line, for log shippers.

Fields passed as `log.info("msg", extra={"model": ..., "version": ...})` become
top-level keys next to the time, level, logger and message.
"""

import json
import logging
import sys
import time

# Attributes every LogRecord has; anything else came from `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):

  def format(self, record: logging.LogRecord) -> str:
    entry = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
                + f".{int(record.msecs):03d}Z",
        "level": record.levelname,
        "logger": record.name,
        "message": record.getMessage(),
    }
    entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
    if record.exc_info:
      entry["exception"] = self.formatException(record.exc_info)
    return json.dumps(entry, default=str)


def setup(level: str = "INFO", stream=sys.stderr) -> None:
  """Sends the `serving` loggers' records to `stream` as JSON lines."""
  handler = logging.StreamHandler(stream)
  handler.setFormatter(JsonFormatter())
  logger = logging.getLogger("serving")
  logger.handlers[:] = [handler]
  logger.setLevel(level)
  logger.propagate = False
