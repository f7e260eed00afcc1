"""Turn our RunConfig into coqui's GPTTrainerConfig, as coqui's XTTS v2 fine-tuning recipe does.

coqui's config classes (torch and TTS) are imported inside the builder: only the training process
and the disk planner's architecture estimate pay for them.
"""
from __future__ import annotations

from core.checkpoints.layout import trainer_output_dir
from core.base.config import SAMPLE_RATE_HZ, RunConfig
from core.trainer.base_model import BaseModelFiles
from core.trainer.test_sentences import TestSentence

# model_args of the base config.json that size the GPT; XTTS v2's defaults apply when absent.
GPT_SIZE_KEYS = (
    "gpt_layers", "gpt_n_model_channels", "gpt_n_heads", "gpt_max_audio_tokens", "gpt_max_text_tokens",
    "gpt_max_prompt_tokens", "gpt_code_stride_len", "gpt_num_audio_tokens", "gpt_start_audio_token",
    "gpt_stop_audio_token", "gpt_use_masking_gt_prompt_approach", "gpt_use_perceiver_resampler",
    # The HiFi-GAN decoder reads the GPT's latents: its input width must be the GPT's width
    # (1024 in XTTS v2, which is also the default; the demo's GPT is 64 wide).
    "decoder_input_dim",
)


def build_gpt_trainer_config(config: RunConfig, base: BaseModelFiles, trainer_run_name: str,
                             test_sentences: tuple[TestSentence, ...] = ()):
    """The GPTTrainerConfig for a run; every field of `config` lands in it (tests read it back).

    `test_sentences` (core.trainer.test_sentences.pick_test_sentences) are spoken after each epoch
    when `config.test_sentences_each_epoch` is on; without it coqui's list stays empty.
    """
    from TTS.tts.configs.xtts_config import XttsAudioConfig
    from TTS.tts.layers.xtts.trainer.gpt_trainer import GPTArgs, GPTTrainerConfig

    sizes = {k: v for k, v in base.model_args().items() if k in GPT_SIZE_KEYS}
    sizes.setdefault("gpt_num_audio_tokens", 1026)
    sizes.setdefault("gpt_start_audio_token", 1024)
    sizes.setdefault("gpt_stop_audio_token", 1025)
    sizes.setdefault("gpt_use_masking_gt_prompt_approach", True)
    sizes.setdefault("gpt_use_perceiver_resampler", True)
    start_weights = config.custom_model_path or (str(base.model_pth) if base.model_pth else "")
    model_args = GPTArgs(
        max_conditioning_length=132300,  # 6 s, as in coqui's recipe
        min_conditioning_length=66150,  # 3 s
        debug_loading_failures=False,
        max_wav_length=int(config.max_audio_length_s * SAMPLE_RATE_HZ),
        max_text_length=200,
        mel_norm_file=str(base.mel_stats_pth),
        dvae_checkpoint=str(base.dvae_pth),
        xtts_checkpoint=start_weights,
        tokenizer_file=config.vocab_path or str(base.vocab_json),
        **sizes,
    )
    audio = XttsAudioConfig(sample_rate=SAMPLE_RATE_HZ, dvae_sample_rate=SAMPLE_RATE_HZ, output_sample_rate=24000)
    return GPTTrainerConfig(
        epochs=config.epochs,
        output_path=str(trainer_output_dir(config.output_path)),
        model_args=model_args,
        run_name=trainer_run_name,
        project_name="XTTS_trainer",
        run_description="XTTS fine-tuning launched by the XTTS dashboard",
        dashboard_logger="tensorboard",
        audio=audio,
        batch_size=config.batch_size,
        batch_group_size=48,
        eval_batch_size=config.batch_size,
        num_loader_workers=config.num_loader_workers,
        num_eval_loader_workers=config.num_loader_workers,
        eval_split_max_size=256,
        print_step=config.print_step,
        plot_step=config.plot_step,
        log_model_step=config.log_model_step,
        save_step=config.save_step,
        save_n_checkpoints=config.save_n_checkpoints,
        save_checkpoints=config.save_checkpoints,
        save_best_after=config.save_best_after,
        print_eval=False,
        optimizer="AdamW",
        optimizer_wd_only_on_weights=True,
        optimizer_params={"betas": [0.9, 0.96], "eps": 1e-8, "weight_decay": 1e-2},
        lr=config.learning_rate,
        lr_scheduler="MultiStepLR",
        lr_scheduler_params={"milestones": [50000 * 18, 150000 * 18, 300000 * 18], "gamma": 0.5, "last_epoch": -1},
        test_sentences=[s.to_coqui() for s in test_sentences] if config.test_sentences_each_epoch else [],
        training_seed=config.seed,
        mixed_precision=config.mixed_precision,
        languages=[config.language],
    )
