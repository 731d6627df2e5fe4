"""The demo: one whole turn of the flywheel on the simulated fleet (``run``), its figures
(``figures``) and its report (``report``). Apart from the CLI, which only calls ``run``."""
