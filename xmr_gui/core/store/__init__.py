"""What is kept on disk for a photo folder: the catalog (SQLite), the vector index (hnswlib or Qdrant), the
library that ties them to a model and a search space, and Parquet exchange between machines.
"""
