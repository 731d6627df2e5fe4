"""The auto-labeler: label camera segments with what is in them, with provenance on every label.

Public API (plain typed functions; the labeler agent node calls the same ones):

* :func:`robotops.tools.labeling.run.label_segments` (``LabelRequest`` -> ``LabelResult``):
  label what this labeler version has not labeled yet, into the catalog, the segments'
  descriptions and the vector index;
* :func:`robotops.tools.labeling.quarantine.quarantine_labeler` (``QuarantineRequest`` ->
  ``QuarantineResult``), :func:`~robotops.tools.labeling.quarantine.list_labelers` and
  :func:`~robotops.tools.labeling.quarantine.reindex_labels`;
* :func:`robotops.tools.labeling.registry.create_backend`: ``embedded`` (default, no download),
  ``clip`` (local transformers model) and ``openai`` (any OpenAI-compatible vision endpoint);
* :func:`robotops.tools.labeling.vocabulary.load_vocabulary`: the labels, from ``labels.yaml``
  plus a user's file;
* :func:`robotops.tools.labeling.train.train_embedded`: rebuild the embedded classifier.

Modules: ``vocabulary`` (labels), ``models`` (inputs and outputs), ``registry`` (backend
contract), ``backends/`` (one module per backend), ``frames`` (camera frames out of logs),
``run`` (incremental labeling in a process pool), ``sync`` (descriptions and index),
``quarantine``; for the embedded backend ``imagestats``, ``classifier``, ``weights``, and for
its training ``simframes`` (simulator ground truth), ``degrade`` and ``train``.
"""
