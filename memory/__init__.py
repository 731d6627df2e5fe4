"""What robotops remembers: blobs, the catalog, the vector index, lineage, checkpoints."""
