"""Data: the datasets (embedded, torchvision, IDX folders), batch loaders and image corruptions."""
from .datasets import DATASETS, DataBundle, Split, load_dataset
from .loaders import BatchLoader

__all__ = ["BatchLoader", "DATASETS", "DataBundle", "Split", "load_dataset"]
