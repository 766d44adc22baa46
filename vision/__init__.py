"""trellis vision: ResNet classifiers, raw-bytes exports and the image encoder."""
