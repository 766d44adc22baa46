"""Batch prediction and dataset preparation on Apache Beam (see tools/README.md).

Modules, one concept each: `formats` (CSV / JSON Lines / TFRecord in and out), `dead_letters`
(records that cannot be scored, with their key and reason), `handlers` (what each domain's
export takes and returns), `model_handler` (RunInference over a trellis export), `pipeline`
(read → prepare → RunInference → write, with the nothing-lost check), `prepare_images` (an
image folder → ImageNet-schema TFRecord shards) and `bench`.
"""
