"""Data plumbing shared by every domain: readers, repeatable splits, input pipelines.

    from common.data import data_dir, datasets, splits, csv_reader, tfrecord, image_folder, idx, pipeline, download
"""
