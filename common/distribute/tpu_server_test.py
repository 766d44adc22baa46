"""The TPU host server starts and answers a remote TensorFlow client (on CPU: no TPU here)."""

import os
import pathlib
import socket
import subprocess
import sys
import time

import tensorflow as tf

import common

REPO_ROOT = pathlib.Path(common.__file__).resolve().parent.parent


def free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def test_server_serves_and_a_client_runs_an_op_on_it():
  port = free_port()
  env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "TPU_WORKER_ID": "0"}
  server = subprocess.Popen([sys.executable, "-m", "common.distribute.tpu_server", f"--port={port}"],
                            cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, text=True)
  try:
    line = server.stdout.readline()
    assert "tpu_server: worker 0 serving grpc://" in line
    deadline = time.monotonic() + 30
    while True:  # the gRPC port accepts connections
      try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        break
      except OSError:
        assert time.monotonic() < deadline, "server never listened"
        time.sleep(0.2)
    # What worker 0's program does (minus the TPU): connect and place an op on the worker.
    tf.config.experimental_connect_to_host(f"localhost:{port}", job_name="worker")
    with tf.device("/job:worker/replica:0/task:0/device:CPU:0"):
      total = tf.reduce_sum(tf.range(10))
    assert int(total) == 45  # sum(0..9), computed by the server
    assert total.device == "/job:worker/replica:0/task:0/device:CPU:0"
  finally:
    server.kill()
    server.wait()
