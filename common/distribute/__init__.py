"""Distribution: one training code path from one CPU to multi-worker, Horovod and Cloud TPU pods.

`strategy.create(cfg.distribution)` picks the engine from config; domains build, compile and fit
their models under it without knowing which one it is. See README.md.
"""
