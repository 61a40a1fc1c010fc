"""What a run prints: TRL's completion tables every N steps only, known noisy warnings once."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_completion_tables_print_every_n_steps_and_never_with_zero(capsys):
    from trl.trainer import grpo_trainer

    from rl.console import completion_tables

    original = grpo_trainer.print_prompt_completions_sample
    try:
        table = (["what is 1+1?"], ["<think>two</think> 2"], {"math_accuracy": [1.0]}, [0.5])
        completion_tables(2)
        for step in (1, 2, 3, 4):
            grpo_trainer.print_prompt_completions_sample(*table, step)
        printed = capsys.readouterr().out
        assert printed.count("what is 1+1?") == 2 and "Step 2" in printed and "Step 3" not in printed
        completion_tables(0)  # replaces the throttle, does not stack on it
        for step in (1, 2, 3, 4):
            grpo_trainer.print_prompt_completions_sample(*table, step=step)
        assert "what is 1+1?" not in capsys.readouterr().out
    finally:
        grpo_trainer.print_prompt_completions_sample = getattr(original, "__wrapped__", original)


def test_a_known_noisy_warning_repeated_between_filter_changes_is_shown_once():
    code = textwrap.dedent(
        """
        import warnings
        from rl.console import quiet_libraries
        quiet_libraries()
        for i in range(5):
            with warnings.catch_warnings():  # what trainers do between steps: it clears every "once" registry
                pass
            warnings.warn("`x` is deprecated and will be removed in v6.", FutureWarning)
        warnings.warn("something new", UserWarning)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stderr.count("will be removed in v6") == 1
    assert "something new" in out.stderr  # other warnings are untouched
