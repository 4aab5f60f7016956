"""What a run says it trains on."""

import os

from mtl_studio.training import events as ev
from mtl_studio.training.devices import training_devices
from mtl_studio.training.tf_import import tf


def test_a_machine_without_a_gpu_trains_on_the_cpu():
    assert tf().config.list_physical_devices("GPU") == []  # this machine
    assert training_devices() == [f"CPU ({os.cpu_count()} cores)"]
    assert ev.devices_text(training_devices()) == f"on CPU ({os.cpu_count()} cores)"
    assert ev.devices_text([]) == ""
