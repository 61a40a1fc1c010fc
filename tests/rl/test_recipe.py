"""Recipe loading: strict validation that names the bad key, dotted overrides, stage chaining."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rl.recipe import Recipe, RecipeError, load_recipe, recipe_from_dict

REPO = Path(__file__).resolve().parents[2]

BASE = {
    "name": "demo",
    "stage": "stage1",
    "model": {"name_or_path": "Qwen/Qwen2.5-0.5B"},
    "data": {"mixture": [{"source": "local:smoke/math", "task": "math"}]},
    "rewards": [{"name": "math_accuracy"}, {"name": "code_execution", "weight": 0.5}],
    "training": {"learning_rate": 1.0e-6, "num_generations": 4},
}


def write(tmp_path: Path, recipe: dict, name: str = "recipe.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(recipe))
    return path


def error_for(tmp_path: Path, recipe: dict, overrides: list[str] = ()) -> RecipeError:
    with pytest.raises(RecipeError) as info:
        load_recipe(write(tmp_path, recipe), overrides)
    return info.value


def test_a_valid_recipe_loads_with_defaults_filled(tmp_path):
    recipe = load_recipe(write(tmp_path, BASE))
    assert recipe.trainer == "grpo"
    assert recipe.run_dir == Path("runs/demo/stage1")
    assert [r.weight for r in recipe.rewards] == [1.0, 0.5]
    assert recipe.data.think_prefill is True


def test_a_misspelled_top_level_key_names_it_and_the_closest_valid_one(tmp_path):
    err = error_for(tmp_path, {**BASE, "reward": BASE["rewards"]})
    assert err.key == "reward"
    assert err.suggestion == "rewards"
    assert "'reward'" in str(err) and "'rewards'" in str(err)


def test_a_misspelled_training_key_is_checked_against_trl_grpo_config(tmp_path):
    err = error_for(tmp_path, {**BASE, "training": {"lerning_rate": 1e-6}})
    assert err.key == "training.lerning_rate"
    assert err.suggestion == "training.learning_rate"


def test_any_grpo_config_field_is_accepted_under_training(tmp_path):
    recipe = load_recipe(
        write(tmp_path, {**BASE, "training": {"beta": 0.04, "use_vllm": True, "epsilon_high": 0.28}})
    )
    assert recipe.training == {"beta": 0.04, "use_vllm": True, "epsilon_high": 0.28}


def test_an_sft_only_training_key_in_a_grpo_recipe_says_which_trainer_owns_it(tmp_path):
    err = error_for(tmp_path, {**BASE, "training": {"packing": True}})
    assert err.key == "training.packing"
    assert "SFTConfig" in str(err)


def test_a_misspelled_key_inside_a_list_item_names_its_full_path(tmp_path):
    err = error_for(tmp_path, {**BASE, "data": {"mixture": [{"sorce": "local:x", "task": "math"}]}})
    assert err.key == "data.mixture.0.sorce"
    assert err.suggestion == "data.mixture.0.source"


def test_an_unknown_reward_name_suggests_the_closest_registered_reward(tmp_path):
    err = error_for(tmp_path, {**BASE, "rewards": [{"name": "math_acuracy"}]})
    assert err.key == "rewards.0.name"
    assert err.suggestion == "math_accuracy"


def test_a_value_of_the_wrong_type_names_the_key(tmp_path):
    err = error_for(tmp_path, {**BASE, "training": {"max_steps": "ten"}})
    assert err.key == "training.max_steps"


def test_reward_weights_belong_to_the_rewards_section_not_training(tmp_path):
    err = error_for(tmp_path, {**BASE, "training": {"reward_weights": [1.0, 1.0]}})
    assert err.key == "training.reward_weights"
    assert "rewards.<i>.weight" in str(err)


def test_a_missing_required_key_is_named(tmp_path):
    err = error_for(tmp_path, {k: v for k, v in BASE.items() if k != "stage"})
    assert err.key == "stage"


def test_yaml_exponent_without_a_dot_still_reads_as_a_float(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(BASE).replace("learning_rate: 1.0e-06", "learning_rate: 1e-6"))
    assert load_recipe(path).training["learning_rate"] == 1e-6


def test_dotted_overrides_reach_nested_keys_and_list_items(tmp_path):
    recipe = load_recipe(
        write(tmp_path, BASE),
        [
            "training.learning_rate=2e-6",
            "rewards.1.weight=0.25",
            "data.mixture.0.max_samples=10",
            "launch.nodes=4",
        ],
    )
    assert recipe.training["learning_rate"] == 2e-6
    assert recipe.rewards[1].weight == 0.25
    assert recipe.data.mixture[0].max_samples == 10
    assert recipe.launch.nodes == 4


def test_override_values_are_parsed_as_yaml(tmp_path):
    recipe = load_recipe(
        write(tmp_path, BASE),
        [
            "model.lora={r: 8, lora_alpha: 16}",
            "evaluation.suites=[gsm8k, math500]",
            "rewards.0.kwargs.timeout_s=2",
        ],
    )
    assert recipe.model.lora == {"r": 8, "lora_alpha": 16}
    assert recipe.evaluation.suites == ["gsm8k", "math500"]
    assert recipe.rewards[0].kwargs == {"timeout_s": 2}


def test_an_override_at_the_list_length_appends_an_item(tmp_path):
    recipe = load_recipe(write(tmp_path, BASE), ["rewards.2.name=format", "rewards.2.weight=0.1"])
    assert [r.name for r in recipe.rewards] == ["math_accuracy", "code_execution", "format"]


def test_a_misspelled_override_key_is_an_error_naming_it(tmp_path):
    err = error_for(tmp_path, BASE, ["training.num_generation=8"])
    assert err.key == "training.num_generation"
    assert err.suggestion == "training.num_generations"


def test_an_override_without_equals_sign_says_how_to_write_one(tmp_path):
    err = error_for(tmp_path, BASE, ["training.learning_rate"])
    assert "key=value" in str(err)


def test_an_override_past_the_end_of_a_list_is_an_error(tmp_path):
    err = error_for(tmp_path, BASE, ["rewards.5.weight=1"])
    assert err.key == "rewards.5.weight"


def test_from_stage_resolves_to_the_sibling_run_dir_and_is_saved_as_the_model(tmp_path):
    stage2 = {**BASE, "stage": "stage2", "model": {"from_stage": "stage1"}}
    recipe = load_recipe(write(tmp_path, stage2))
    assert recipe.model.name_or_path == str(Path("runs/demo/stage1"))
    saved = yaml.safe_load(recipe.save(tmp_path / "out" / "recipe.yaml").read_text())
    assert saved["model"]["name_or_path"] == str(Path("runs/demo/stage1"))
    assert saved["model"]["from_stage"] == "stage1"


def test_from_stage_follows_an_overridden_output_dir(tmp_path):
    stage2 = {**BASE, "stage": "stage2", "model": {"from_stage": "stage1"}}
    recipe = load_recipe(write(tmp_path, stage2), [f"output_dir={tmp_path}/exp/stage2"])
    assert recipe.model.name_or_path == str(tmp_path / "exp" / "stage1")


def test_an_explicit_model_path_overrides_from_stage(tmp_path):
    stage2 = {**BASE, "stage": "stage2", "model": {"from_stage": "stage1"}}
    recipe = load_recipe(write(tmp_path, stage2), ["model.name_or_path=elsewhere/ckpt"])
    assert recipe.model.name_or_path == "elsewhere/ckpt"


def test_a_model_given_as_a_bare_string_is_its_name_or_path(tmp_path):
    recipe = load_recipe(write(tmp_path, {**BASE, "model": "runs/smoke/stage1"}))
    assert recipe.model.name_or_path == "runs/smoke/stage1"


def test_a_saved_recipe_loads_back_to_the_same_recipe(tmp_path):
    recipe = load_recipe(write(tmp_path, BASE), ["rewards.0.kwargs={timeout_s: 2}"])
    assert load_recipe(recipe.save(tmp_path / "saved.yaml")) == recipe


def test_the_trl_config_carries_reward_weights_and_the_run_dir(tmp_path):
    recipe = recipe_from_dict(BASE)
    config = recipe.trl_config(use_cpu=True, bf16=False)
    assert config.reward_weights == [1.0, 0.5]
    assert config.output_dir == str(Path("runs/demo/stage1"))
    assert config.num_generations == 4


def test_an_sft_recipe_rejects_rewards_and_accepts_sft_config_fields(tmp_path):
    sft = {**BASE, "trainer": "sft", "training": {"packing": True, "max_length": 256}}
    assert error_for(tmp_path, sft).key == "rewards"
    recipe = load_recipe(write(tmp_path, {k: v for k, v in sft.items() if k != "rewards"}))
    assert recipe.training == {"packing": True, "max_length": 256}


def test_a_missing_recipe_file_says_what_to_pass(tmp_path):
    with pytest.raises(RecipeError, match="not found"):
        load_recipe(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    "path", sorted(p.relative_to(REPO) for p in (REPO / "recipes").glob("*/stage*.yaml")), ids=str
)
def test_every_bundled_recipe_validates(path):
    assert isinstance(load_recipe(REPO / path), Recipe)


def test_a_yaml_no_for_a_string_option_stays_the_string_no(tmp_path):
    recipe = load_recipe(write(tmp_path, BASE), ["training.save_strategy=no", "training.eval_strategy=no"])
    assert recipe.training["save_strategy"] == "no" and recipe.training["eval_strategy"] == "no"


def test_lora_keys_are_checked_against_peft_lora_config(tmp_path):
    err = error_for(tmp_path, BASE, ["model.lora={r: 8, alpha: 16}"])
    assert err.key == "model.lora.alpha"
    assert err.suggestion == "model.lora.lora_alpha"


def test_an_unknown_dtype_suggests_the_closest(tmp_path):
    err = error_for(tmp_path, BASE, ["model.dtype=bfloat"])
    assert err.key == "model.dtype" and err.suggestion == "bfloat16"


def test_data_order_is_checked_and_cannot_be_undone_by_the_trainers_shuffle(tmp_path):
    err = error_for(tmp_path, BASE, ["data.order=by_promt"])
    assert err.key == "data.order" and err.suggestion == "by_prompt"
    err = error_for(tmp_path, BASE, ["data.order=by_prompt", "training.shuffle_dataset=true"])
    assert err.key == "training.shuffle_dataset" and "data.order" in str(err)


def test_a_training_key_given_at_the_top_level_suggests_its_section(tmp_path):
    err = error_for(tmp_path, BASE, ["learning_rate=1e-5"])
    assert err.suggestion == "training.learning_rate"
    assert "did you mean 'training.learning_rate'" in str(err)
    assert error_for(tmp_path, BASE, ["replicas=2"]).suggestion == "sandbox.replicas"


@pytest.mark.parametrize(
    "override", ["training.learning_rate=-1e-5", "training.learning_rate=0", "training.num_generations=0"]
)
def test_a_learning_rate_or_group_size_that_cannot_train_fails_validation(tmp_path, override):
    err = error_for(tmp_path, BASE, [override])
    assert err.key == override.split("=")[0] and "must be > 0" in str(err)


def test_reward_failure_limits_are_checked(tmp_path):
    assert error_for(tmp_path, BASE, ["reward_failures.max_fraction=1"]).key == "reward_failures.max_fraction"
    assert error_for(tmp_path, BASE, ["reward_failures.patience=-1"]).key == "reward_failures.patience"
    recipe = load_recipe(write(tmp_path, BASE))
    assert (recipe.reward_failures.max_fraction, recipe.reward_failures.patience) == (0.5, 3)


@pytest.mark.parametrize(
    ("training", "expected"),
    [({}, True), ({"activation_checkpointing": False}, False), ({"gradient_checkpointing": False}, False)],
    ids=["trl-default", "new-name", "old-name"],
)
@pytest.mark.parametrize("stage", ["stage0", "stage1"])
def test_the_trl_config_takes_activation_checkpointing_without_a_deprecation_warning(
    stage, training, expected
):
    """transformers warns on `gradient_checkpointing`, TRL's default and older recipes' key: the value goes
    through the new name, so smoke runs print no FutureWarning and keep the same setting."""
    import warnings

    recipe = load_recipe(
        REPO / f"recipes/smoke/{stage}.yaml", ["output_dir=/tmp/unused", "training.use_cpu=true"]
    )
    recipe.training = {k: v for k, v in recipe.training.items() if "checkpointing" not in k} | training
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        config = recipe.trl_config()
    assert [str(w.message) for w in caught if "checkpointing" in str(w.message)] == []
    assert config.activation_checkpointing is expected and config.gradient_checkpointing is expected
