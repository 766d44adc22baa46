"""Serves this host's TPU chips to a TensorFlow program on another host of a pod slice.

TensorFlow drives a pod slice from one process (worker 0's): it connects to a TensorFlow gRPC
server on every host (`grpc://<host>:8470`, as `tpu.cluster_resolver` lists them) and runs the
TPU program through them. Cloud TPU's `tpu-vm-tf-*-pod` images start such a server at boot; on a
bare image (`tpu-ubuntu2204-base`, which the TPU lock needs: infra/tpu/spec.py) the startup script
starts this one on each host, from `.venv-tpu` (tensorflow-tpu + libtpu):

    .venv-tpu/bin/python -m common.distribute.tpu_server --port=8470

It holds the host's chips (libtpu is loaded here), so worker 0's trainer runs with
`TPU_LOAD_LIBRARY=0` and reaches its own chips through its own server, as the other hosts'. The
server learns the rest of the cluster from the program that connects
(`tf.config.experimental_connect_to_cluster` sends it), so it is started knowing only itself.
Not run on a TPU here (no TPU in this environment); tested on CPU (it serves and answers).
"""

import os

import tensorflow as tf
from absl import app, flags

_PORT = flags.DEFINE_integer("port", 8470, "gRPC port (8470 is what TPU resolvers expect)")
_TASK = flags.DEFINE_integer("task", None, "this host's worker index (default: TPU_WORKER_ID or 0)")


def start(port: int, task: int = 0) -> tf.distribute.Server:
  """Starts an in-process TensorFlow gRPC server as task `task` of job `worker` on `port`."""
  cluster = tf.train.ClusterSpec({"worker": {task: f"localhost:{port}"}})
  return tf.distribute.Server(cluster, job_name="worker", task_index=task, protocol="grpc",
                              start=True)


def main(argv):
  del argv
  task = _TASK.value if _TASK.value is not None else int(os.environ.get("TPU_WORKER_ID", "0"))
  server = start(_PORT.value, task)
  print(f"tpu_server: worker {task} serving {server.target} "
        f"({len(tf.config.list_logical_devices('TPU'))} TPU devices)", flush=True)
  server.join()


if __name__ == "__main__":
  app.run(main)
