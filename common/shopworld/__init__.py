"""The synthetic shop world: a small, deterministic stand-in for a shop's data, with its ground truth.

    from common.shopworld import world as shopworld
    w = shopworld.generate(seed=0, size="small")
    w.write("/tmp/world")
"""
