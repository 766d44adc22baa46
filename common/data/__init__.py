"""Data plumbing shared by every domain: readers, repeatable splits, input pipelines.

    from common.data import data_dir, datasets, splits, csv_reader, tfrecord, image_folder, idx
    from common.data import pipeline, sharding, download
"""
