"""The training process: `python -m core.runs.train_process <run folder>`.

Launched detached by core.runs.launcher. Runs coqui's Trainer + GPTTrainer, reports progress into
status.json through trainer callbacks, writes ready/ when training finishes, and records its
exit code in outcome.json (the dashboard derives the run state from these files).

With several ranks (launch.json's world_size > 1) the first process becomes the group leader
(core.runs.rank_group) and starts this module once per rank; a rank reads its place from RANK /
WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT, so torchrun can start the ranks as well.
"""
from __future__ import annotations

import os
import signal
import sys
import time
import traceback
from pathlib import Path

from core.base.atomic_io import read_json
from core.checkpoints.layout import ready_dir
from core.base.config import RunConfig
from core.notify.dispatch import Notifier
from core.notify.files import notify_files_of_run
from core.registry.output_lock import try_lock_output
from core.registry.process_identity import identify
from core.registry.records import EXIT_INTERRUPTED, RunFiles, RunRecord, write_record
from core.registry.status import ReadyExport
from core.runs.distributed import GradientSync, RankEnv, init_group, leave_group, pin_local_gpu, weights_fingerprint
from core.runs.rank_group import LEADER_ENV, supervise
from core.runs.status_reporter import StatusReporter, notify_run_end, write_outcome
from core.trainer.gpt_config import build_gpt_trainer_config
from core.trainer.inference_compat import patch_gpt_inference_cache
from core.trainer.intact_resume import use_only_intact_checkpoints
from core.trainer.save_guard import defer_stops_during_saves
from core.trainer.new_language import install_for_run, text_rules
from core.trainer.preflight import preflight
from core.trainer.ready_export import export_ready, final_export_source
from core.trainer.start_weights import load_resized, needs_resize
from core.trainer.test_sentences import limit_test_speech, pick_test_sentences

def train(folder: Path, reporter_box: list, rank: RankEnv | None = None) -> int:
    """Train (one rank of) the run in `folder`. Only rank 0 writes status, checkpoints and ready/."""
    files = RunFiles(folder)
    launch = read_json(files.launch)
    checked = preflight(RunConfig(**launch["config"]), mode=launch["mode"], resume_from=launch["resume_from"],
                        world_size=rank.world_size if rank else 1)
    is_main = rank is None or rank.is_main
    reporter = StatusReporter(files, checked, Notifier(notify_files_of_run(folder))) if is_main else None
    if reporter:
        reporter_box.append(reporter)
    for note in (*checked.adjustments, *checked.warnings):
        print(f" > NOTE: {note}", flush=True)

    # Heavy imports, only in a process that trains (a rank-group leader never does).
    from trainer import Trainer, TrainerArgs
    from TTS.tts.layers.xtts.trainer.gpt_trainer import GPTTrainer

    config = checked.config
    if install_for_run(config) is not None:  # a new language: coqui's tokenizer gets our text rules, here only
        print(f" > NOTE: {config.language} is a new language for XTTS: text rules installed"
              f"{' (romanisation: ' + config.romanize + ')' if config.romanize else ''}", flush=True)
    gpt_config = build_gpt_trainer_config(config, checked.base, launch["trainer_run_name"],
                                          pick_test_sentences(checked.train, checked.eval, config.language))
    start = gpt_config.model_args.xtts_checkpoint
    have, want = needs_resize(Path(start), Path(gpt_config.model_args.tokenizer_file)) if start else (None, 0)
    if have is not None and have != want:
        # GPTTrainer would fail on the size mismatch: build without weights, load them resized,
        # then put the path back so the trainer's config.json still names the real start.
        gpt_config.model_args.xtts_checkpoint = ""
        model = GPTTrainer.init_from_config(gpt_config)
        note = load_resized(model, Path(start))
        gpt_config.model_args.xtts_checkpoint = start
        if reporter:
            reporter.update(adjustments=(*reporter.status.adjustments, note))
        print(f" > NOTE: {note}", flush=True)
    else:
        model = GPTTrainer.init_from_config(gpt_config)
    if gpt_config.test_sentences:
        patch_gpt_inference_cache()  # coqui's synthesis under transformers 5 (core.trainer.inference_compat)
        cap = limit_test_speech(model, config.max_audio_length_s)
        print(f" > NOTE: {len(gpt_config.test_sentences)} test sentences after each epoch, at most "
              f"{config.max_audio_length_s:g} s each ({cap} audio tokens)", flush=True)
    output_path = gpt_config.output_path
    if rank:
        import torch

        backend = init_group(rank, torch.cuda.is_available())
        # Only recorded in the trainer's config.json: the group was joined just above (env:// rendezvous).
        gpt_config.distributed_backend = backend
        gpt_config.distributed_url = f"tcp://{rank.master_addr}:{rank.master_port}"
        if launch["mode"] == "continue":
            # Rank 0 sets truncated checkpoints aside (below, in last_intact) before any rank looks.
            if is_main:
                use_only_intact_checkpoints()(launch["resume_from"])
            torch.distributed.barrier()
        if not is_main:
            # The trainer writes config.json and trainer_<rank>_log.txt into its run folder (and
            # deletes that folder on a crash while it holds no .pth): give other ranks their own.
            output_path = str(folder / f"rank{rank.rank}")
    args = TrainerArgs(restore_path=launch["resume_from"] if launch["mode"] == "restore" else None,
                       continue_path=launch["resume_from"] if launch["mode"] == "continue" else "",
                       skip_train_epoch=False, start_with_eval=False, grad_accum_steps=config.grad_accum_steps,
                       rank=rank.rank if rank else 0, use_ddp=rank is not None, group_id=f"group_{launch['run_id']}")
    if launch["mode"] == "continue":
        use_only_intact_checkpoints()
    defer_stops_during_saves()  # a Stop pressed during a save waits for the save, then stops as usual

    def make_trainer():
        return Trainer(args, gpt_config, output_path=output_path, model=model,
                       train_samples=checked.train.to_samples(config.language),
                       eval_samples=checked.eval.to_samples(config.language),
                       parse_command_line_args=False, callbacks=reporter.callbacks() if reporter else {})

    if rank and launch["mode"] == "continue":
        # With continue_path every rank's Trainer reads the run folder's config.json and then rewrites
        # it in place (copy_model_files is not limited to rank 0): a rank reading while another
        # truncates it fails with JSONDecodeError. Rank 0 goes first; the others follow.
        import torch.distributed as dist

        if is_main:
            trainer = make_trainer()
            dist.barrier()
        else:
            dist.barrier()
            trainer = make_trainer()
    else:
        trainer = make_trainer()
    if rank:
        # The trainer's own DDP mode is off (one device per rank) and would not average gradients anyway.
        trainer.wrapped_model = GradientSync(trainer.model, trainer.optimizer, trainer.use_cuda)
        if reporter:
            reporter.update(world_size=rank.world_size, backend=backend,
                            device=f"{reporter.status.device} x {rank.world_size} ranks ({backend})")
            reporter.write(force=True)
    trainer.fit()
    if rank:
        print(f" > weights fingerprint (rank {rank.rank}): {weights_fingerprint(trainer.optimizer)}", flush=True)
        leave_group()
        if not is_main:
            return 0

    reporter.update(phase="exporting")
    reporter.write(force=True)
    source = final_export_source(Path(trainer.output_path))
    if source is not None:
        bundle = export_ready(source, ready_dir(config.output_path), checked.base,
                              Path(config.vocab_path or checked.base.vocab_json), checked.train, run_id=launch["run_id"],
                              language=config.language, rules=text_rules(config))
        reporter.update(ready=ReadyExport(str(bundle.folder), str(source)))
        print(f" > READY : {bundle.folder} (from {source.name})", flush=True)
        if bundle.previous:
            print(f" > READY : the bundle it replaced is kept in {bundle.previous}", flush=True)
    reporter.update(phase="finished")
    reporter.write(force=True)
    return 0


def become_rank(folder: Path, rank: RankEnv) -> None:
    """Set this process up as one rank: its own log file, its own GPU, SIGINT for rank 0 only."""
    # Under core.runs.rank_group stdout already is this file; under torchrun this gives the same layout.
    log = os.open(RunFiles(folder).log(rank.rank), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    pin_local_gpu(rank.local_rank)
    if not rank.is_main:
        # Rank 0 saves the checkpoint on SIGINT; the others end when the group is torn down. Were
        # they to exit on SIGINT too, rank 0 could be cut off mid all-reduce before it saves.
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def register_rank0(folder: Path, rank: RankEnv) -> object:
    """Rank 0 started by torchrun (not by our launcher): take the output lock, write record.json.

    Returns the lock, to be held for the life of the process.
    """
    files = RunFiles(folder)
    launch = read_json(files.launch)
    lock = try_lock_output(Path(launch["config"]["output_path"]), launch["run_id"])  # OutputBusy: exits 1
    me = identify(os.getpid())
    record = RunRecord(run_id=launch["run_id"], output_path=launch["config"]["output_path"], config=launch["config"],
                       command=["torchrun", "-m", "core.runs.train_process", str(folder)], pid=os.getpid(),
                       process_start_time=me.start_time if me else time.time(), started_at=time.time(),
                       mode=launch["mode"], resume_from=launch["resume_from"],
                       trainer_run_name=launch["trainer_run_name"], world_size=rank.world_size)
    write_record(files, record)
    return lock


def main(argv: list[str]) -> int:
    # A dashboard started in the background (`streamlit run ... &` in a script) hands its children
    # SIGINT ignored, and Python keeps an inherited SIG_IGN: a stop (the Stop button, the overfitting
    # watch) would then do nothing until the SIGKILL escalation, and the trainer would save nothing.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    folder = Path(argv[1])
    files = RunFiles(folder)
    rank = RankEnv.from_env(os.environ)
    launch = read_json(files.launch) or {}
    wanted = int(launch.get("world_size") or 1)
    if rank is None and wanted > 1:
        try:
            return supervise(folder, wanted, [int(g) for g in launch.get("gpus") or []], sys.executable)
        finally:
            # The leader has the last word on how a multi-rank run ended (which rank failed, and why).
            notify_run_end(files, Notifier(notify_files_of_run(folder)))
    if rank is not None:
        become_rank(folder, rank)
    if rank is not None and not rank.is_main:
        return train(folder, [], rank)  # errors: traceback in its log, exit status to the leader
    _lock = register_rank0(folder, rank) if rank is not None and LEADER_ENV not in os.environ else None  # noqa: F841
    box: list[StatusReporter] = []
    code, message = 1, "failed"
    try:
        code = train(folder, box, rank)
        message = "finished; ready/ written"
    except KeyboardInterrupt:
        # Inside fit() the trainer handles SIGINT itself (saves, os._exit); here it came before or after.
        exporting = bool(box) and box[0].status.phase == "exporting"
        code, message = EXIT_INTERRUPTED, ("stopped by SIGINT while writing ready/ after training; the "
                                           "checkpoints are kept, export one from the Checkpoints page"
                                           if exporting else "stopped by SIGINT before training started")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
        message = "training failed; see the log" if code else "finished"
    except BaseException as exc:
        traceback.print_exc()
        code, message = 1, f"{type(exc).__name__}: {exc}"
    finally:
        write_outcome(files, code, message)
        if box and code != 0:
            box[0].update(phase="stopped" if code == EXIT_INTERRUPTED else "failed")
            box[0].write(force=True)
        sys.stdout.flush()
        sys.stderr.flush()  # the traceback above is part of the "failed" notification's last lines
        if LEADER_ENV not in os.environ:  # under our rank-group leader, the leader notifies
            notify_run_end(files, Notifier(notify_files_of_run(folder)))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
