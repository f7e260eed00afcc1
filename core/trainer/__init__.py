"""What we hand to coqui's Trainer + GPTTrainer, and what it hands back.

Base models (`base_model`), datasets (`dataset`), the built-in demo (`demo`), the GPTTrainer
config (`gpt_config`), every check before a launch (`preflight`; `dataset_check` runs the dataset
check on the run's CSVs with its vocabulary), ready/ export
(`ready_export`), weights-only starts (`start_weights`), text-vocabulary resizing
(`vocabulary`), what a language XTTS does not know needs (`new_language`) and the
continue-from-intact-checkpoint patch (`intact_resume`) and the patch that holds a stop back
until a save has finished (`save_guard`).

May import: core.base, core.registry, core.jobs, core.language, core.dataset and core.checkpoints.
"""
