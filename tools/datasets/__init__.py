"""Training datasets: selection, the range teacher, splits, sim frames, the alignment gate,
storage with lineage, training a version from a dataset, and the planner's tools.

Modules: ``models`` (manifest), ``build`` (selection, balance, splits), ``teacher`` (scan ->
target), ``splits``, ``simframes`` (hazard frames from worlds), ``store`` (blob + lineage),
``frames`` (manifest -> pixels), ``alignment`` and ``gate`` (the alignment gate), ``train``
(gate, fine-tune, register), ``plan`` (what to train, what it costs), ``tools`` (registered
tools: build_dataset, check_alignment, plan_training, train_policy).
"""
