"""The slowest tests, marked `slow` in one list so a developer can skip them
locally (`pytest -m "not slow"`, about half the time) while CI runs every
test. Each takes several seconds on 2 cores (pytest --durations=40)."""

import pytest

SLOW = {
    # tests/training: whole runs in every mode and weighting
    "test_resuming_from_a_checkpoint_gives_the_same_losses",
    "test_runs_are_repeatable_from_the_seed",
    "test_a_short_joint_run_trains",  # each balancing method (test_balancing_methods.py)
    "test_joint_fixed_weights_match_keras_fit_step_by_step",
    "test_early_stopping_stops_and_says_why_in_every_mode",
    "test_the_saved_models_take_raw_rows_and_give_real_units_in_plain_keras",
    "test_first_imports_from_two_threads_keep_stderr",
    # tests/training: runs under tf.distribute, in processes of their own
    "test_mirrored_on_two_cpu_devices_takes_the_one_device_steps",
    "test_two_worker_processes_take_the_one_device_steps",
    "test_a_worker_that_dies_ends_the_run_with_a_checkpoint_to_resume_from",
    # tests/export: the exported script run in its own process
    "test_script_step_losses_match_the_trainer",
    "test_block_script_step_losses_match_the_trainer",
    "test_a_mirrored_script_takes_the_trainer_s_one_device_steps",
    # tests/cli and the API: the command in a process, the documented example
    "test_ctrl_c_stops_cleanly_and_resume_goes_on",
    "test_the_documented_example_runs",
    # tests/ui: real runs, a real TensorBoard
    "test_train_pause_resume_live_change_stop_continue_and_again",
    "test_opens_tensorboard_on_the_runs_folder",
    "test_cli_worker_and_api_make_the_same_run",
    "test_open_run_shows_its_curves_and_results_and_continue_goes_on",
    # tests/study: a study of several runs
    "test_a_tiny_study_stops_and_goes_on_where_it_stopped",
    "test_a_search_writes_its_trials_and_goes_on_where_it_stopped",
    "test_two_worker_processes_share_one_study_on_one_sqlite_file",
    "test_the_study_command_searches_with_two_workers_against_the_baselines",
}


def pytest_collection_modifyitems(items):
    for item in items:
        if item.originalname in SLOW:
            item.add_marker(pytest.mark.slow)
